"""The web dashboard: pages rendered on the server, mounted at ``/`` by ``ragline serve``.

Signed in with the same API keys as the HTTP API (a session cookie, HTTP-only and
SameSite=Strict); a tenant's key sees that tenant's data, a key with the ``admin``
scope sees every tenant. Every state-changing form carries a CSRF token. The page
scripts (htmx) and styles ship in the package: nothing is loaded from the internet.
``ui.enabled: false`` turns it off. :func:`dashboard_app` is ``create_app`` with the
dashboard; :func:`serve` is what ``ragline serve`` runs.
"""

from ragline.ui._app import dashboard_app, serve
from ragline.ui._mount import mount_ui

__all__ = ["dashboard_app", "mount_ui", "serve"]
