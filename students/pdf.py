"""HTML to PDF with WeasyPrint: local fonts only, no network.

Chinese is set in Noto Sans CJK SC (Debian `fonts-noto-cjk`), named in the templates' CSS with
fallbacks; WeasyPrint subsets it quickly when `libharfbuzz-subset0` is installed.
"""

from django.conf import settings


def html_to_pdf(html: str) -> bytes:
    """Render one HTML document; it may only load `data:` URLs (no file or network access)."""
    # WeasyPrint loads Pango and HarfBuzz: only processes that render a PDF pay for that.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",))
    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=fetcher).write_pdf()
