"""Tokens a base's own system uses to push scans: created and revoked by its coordinators.

Only a SHA-256 of the token is stored, with a short prefix to tell tokens apart on the page;
the raw token is shown once, when it is created.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record

from ..errors import BaseError
from ..models import Base, BaseApiToken

TOKEN_PREFIX = "bk_"
PREFIX_LENGTH = 10  # "bk_" and 7 random characters: enough to tell tokens apart
VALID_DAYS_CHOICES = (30, 90, 180, 365)
TOUCH_EVERY = timedelta(minutes=1)  # how precisely "last used" is kept


def api_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, base: Base, name: str, created_by: User, valid_days: int = VALID_DAYS_CHOICES[-1]
) -> tuple[BaseApiToken, str]:
    """A new token for the base, working for `valid_days`; returns (token, raw token).

    The raw token is never stored."""
    if not Base.objects.filter(pk=base.pk, coordinators__user=created_by).exists():
        raise BaseError(
            _("Only the base's coordinators may manage its API tokens."), code="not_authorised"
        )
    name = " ".join(name.split())
    if not name:
        raise BaseError(_("Give the token a name."), code="name_required")
    if valid_days not in VALID_DAYS_CHOICES:
        raise BaseError(_("Choose how long the token works."), code="validity_invalid")
    expires_at = timezone.now() + timedelta(days=valid_days)
    for _attempt in range(5):
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                token = BaseApiToken.objects.create(
                    base=base,
                    name=name,
                    prefix=raw[:PREFIX_LENGTH],
                    key_hash=api_token_hash(raw),
                    created_by=created_by,
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue  # a prefix already taken: draw again
        audit_log_record(
            actor=created_by,
            action="api_token.create",
            target=token,
            data={"name": name, "valid_days": valid_days},
        )
        return token, raw
    raise BaseError(_("Could not create a token; try again."), code="token_collision")


@transaction.atomic
def api_token_revoke(*, token: BaseApiToken, revoked_by: User) -> BaseApiToken:
    """Revoke a token: it answers 401 from the next request on. Revoking twice is harmless."""
    token = BaseApiToken.objects.select_for_update().select_related("base").get(pk=token.pk)
    if not Base.objects.filter(pk=token.base_id, coordinators__user=revoked_by).exists():
        raise BaseError(
            _("Only the base's coordinators may manage its API tokens."), code="not_authorised"
        )
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log_record(actor=revoked_by, action="api_token.revoke", target=token, data={})
    return token


def api_token_authenticate(*, raw: str) -> BaseApiToken | None:
    """The token a raw bearer value stands for, revoked or not; None when unknown."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    return BaseApiToken.objects.select_related("base").filter(key_hash=api_token_hash(raw)).first()


def api_token_touch(*, token: BaseApiToken, now=None) -> None:
    """Note when the token was last used, to the minute: at most one UPDATE a minute (no lock),
    so a system sending batch after batch does not write a row per request."""
    now = now or timezone.now()
    since = now - TOUCH_EVERY
    if token.last_used_at is not None and token.last_used_at > since:
        return
    # The condition again in SQL: of several requests at once, one writes.
    BaseApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=since), pk=token.pk
    ).update(last_used_at=now)
    token.last_used_at = now
