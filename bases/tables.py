import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .models import Post


class PostListingTable(tables.Table):
    """The district listing: one row per open post, sortable by date and seats left."""

    title = tables.Column(
        verbose_name=_("Post"), order_by=("title",), attrs={"td": {"class": "cell-title"}}
    )
    base = tables.Column(
        verbose_name=_("Base"),
        accessor="base__name",
        orderable=False,
        attrs={"td": {"data-label": _("Base")}},
    )
    category = tables.Column(
        verbose_name=_("Category"),
        accessor="category",
        orderable=False,
        attrs={"td": {"data-label": _("Category")}},
    )
    next_starts_at = tables.Column(
        verbose_name=_("Next session"), attrs={"td": {"data-label": _("Next session")}}
    )
    seats_left = tables.Column(
        verbose_name=_("Seats left"),
        attrs={"td": {"class": "num", "data-label": _("Seats left")}},
    )

    class Meta:
        model = Post
        fields = ["title", "base", "category", "next_starts_at", "seats_left"]
        order_by = "next_starts_at"
        attrs = {"class": "listing", "data-testid": "post-table"}
        empty_text = _("No open posts match these filters. Try fewer filters or another district.")
        template_name = "django_tables2/table.html"

    def render_title(self, record):
        picture = record.picture
        return format_html(
            '<img class="face-thumb" src="{}" alt="{}" width="96" height="60" loading="lazy"'
            ' data-testid="post-picture"{}>'
            '<a href="{}">{}</a><br><span class="small muted">{}</span>',
            picture.url,
            picture.alt,
            mark_safe(" data-placeholder") if picture.placeholder else "",
            reverse("bases:post-detail", args=[record.pk]),
            record.title,
            record.place,
        )

    def render_base(self, record):
        return format_html(
            '{}<br><span class="badge info">{}</span>',
            record.base.name,
            record.base.get_level_display(),
        )

    def render_next_starts_at(self, value, record):
        start = timezone.localtime(value)
        more = record.session_count - 1
        extra = _(" (+%(n)s more)") % {"n": more} if more > 0 else ""
        return f"{date_format(start, 'Y-m-d D H:i')}{extra}"

    def render_seats_left(self, value):
        css = "ok" if value > 5 else ("warn" if value > 0 else "bad")
        label = value if value > 0 else _("Full")
        return format_html('<span class="badge {}">{}</span>', css, label)


class PostSearchTable(PostListingTable):
    """The search across districts: the base's district shown with the base."""

    def render_base(self, record, value):
        return f"{value} · {record.base.district.name}"


def _percent_or_dash(value):
    return "—" if value is None else f"{value}%"


class BaseFiguresTable(tables.Table):
    """Bases' figures for a school year (list data): sortable by every figure, 50 a page."""

    name = tables.Column(verbose_name=_("Base"), attrs={"td": {"class": "cell-title"}})
    district = tables.Column(
        verbose_name=_("District"), attrs={"td": {"data-label": _("District")}}
    )
    on_time_percent = tables.Column(
        verbose_name=_("Recorded on time"),
        attrs={"td": {"class": "num", "data-label": _("Recorded on time")}},
    )
    cancelled_late = tables.Column(
        verbose_name=_("Cancelled late"),
        attrs={"td": {"class": "num", "data-label": _("Cancelled late")}},
    )
    disputes_against = tables.Column(
        verbose_name=_("Disputes against"),
        attrs={"td": {"class": "num", "data-label": _("Disputes against")}},
    )
    no_show_percent = tables.Column(
        verbose_name=_("No-show rate"),
        attrs={"td": {"class": "num", "data-label": _("No-show rate")}},
    )

    class Meta:
        order_by = "on_time_percent"
        attrs = {"class": "listing cards", "data-testid": "base-figures-table"}
        empty_text = _("No base had sessions in this school year.")
        template_name = "django_tables2/table.html"
        row_attrs = {"data-testid": "base-figures-row", "data-code": lambda record: record.code}

    def render_name(self, record):
        return format_html(
            '{}<br><span class="small muted">{} · {}</span>', record.name, record.code, record.level
        )

    def render_on_time_percent(self, record):
        return format_html(
            '{} <span class="small muted">{}/{}</span>',
            _percent_or_dash(record.on_time_percent),
            record.recorded_on_time,
            record.sessions_due,
        )

    def render_cancelled_late(self, record):
        return format_html(
            '{} <span class="small muted">/ {}</span>', record.cancelled_late, record.cancelled
        )

    def render_no_show_percent(self, record):
        return format_html(
            '{} <span class="small muted">{}/{}</span>',
            _percent_or_dash(record.no_show_percent),
            record.no_shows,
            record.seats_settled,
        )
