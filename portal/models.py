from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from .changes import ChangeSignallingQuerySet
from .messages import message_render


class PortalUserManager(UserManager.from_queryset(ChangeSignallingQuerySet)):
    """Django's UserManager; its querysets announce their writes (portal.user_cache)."""


class Role(models.TextChoices):
    STUDENT = "student", _("Student")
    COORDINATOR = "coordinator", _("Base coordinator")
    HEAD_TEACHER = "head_teacher", _("Head teacher")
    SCHOOL_ADMIN = "school_admin", _("School admin")
    DISTRICT_ADMIN = "district_admin", _("District admin")
    CITY_ADMIN = "city_admin", _("City admin")
    GUARDIAN = "guardian", _("Guardian")


class User(AbstractUser):
    """A person who signs in; what they may see follows from `role` and their scope rows."""

    full_name = models.CharField(_("full name"), max_length=64, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    #: The language the user last chose or signed in with: what their e-mails are written in.
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    #: Set when someone else chose the password (an admin, a reset): the next page is the
    #: password change page until the user picks their own (`portal.middleware`).
    must_change_password = models.BooleanField(
        _("must change password"), default=False, db_default=False
    )

    objects = PortalUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[*Role.values, ""]),
                name="user_role_valid",
            ),
        ]

    def __str__(self):
        return self.full_name or self.username

    def get_full_name(self):
        return self.full_name or super().get_full_name() or self.username


class AuditLog(models.Model):
    """Who did what to which object, when, with the data needed to understand it later."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


class Notification(models.Model):
    """A message shown on the user's notifications page and, once, sent by e-mail.

    It is kept as a message code and its parameters (`portal.messages`) and shown in the
    reader's language; `message` holds the text in the site's language at the time of sending,
    for the admin and for a code no longer declared.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    code = models.CharField(_("message code"), max_length=64, blank=True)
    params = models.JSONField(_("message parameters"), default=dict, blank=True)
    message = models.CharField(_("message"), max_length=500, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(
                fields=["user"], name="notification_unread", condition=models.Q(read_at=None)
            ),
        ]

    def __str__(self):
        return self.message

    @property
    def text(self) -> str:
        """The message in the active language; one sent to a guardian names the child."""
        text = message_render(self.code, self.params, fallback=self.message)
        if self.params.get("child"):
            return _("About %(child)s: %(text)s") % {"child": self.params["child"], "text": text}
        return text


class ActivationCode(models.Model):
    """A one-time code that lets a new user (or one whose login was reset) set a password.

    Only a keyed hash of the code is stored (`portal.activation`); the code itself appears in
    clear once, on the printed login slip or the page of the reset.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="activation_codes",
    )
    code_hash = models.CharField(_("code hash"), max_length=64)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user"],
                name="activation_code_open",
                condition=models.Q(used_at=None, revoked_at=None),
            ),
        ]

    def __str__(self):
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class OutboxMessage(models.Model):
    """A task to queue, written in the same transaction as the change that needs it.

    Published right after commit; if the broker cannot take it then, it stays pending (with
    the error) until `portal.outbox.outbox_flush` publishes it. Sent rows are purged later.
    """

    task_name = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    # Signatures (as dicts) run one after the other once this task has succeeded (a chain).
    then = models.JSONField(_("then"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="outbox_pending_idx",
            ),
            models.Index(fields=["sent_at"], name="outbox_sent_idx"),
        ]

    def __str__(self):
        return self.task_name


class SheetUpload(models.Model):
    """What every uploaded sheet keeps (a base's attendance, a school's roster): the file as
    received and its digest, the rows read, the problems by row and column, who sent it, and
    when it was imported. Each app adds its owner, its file folder and its statuses."""

    original_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    class Meta:
        abstract = True
