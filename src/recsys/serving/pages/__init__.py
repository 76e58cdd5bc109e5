"""Pages for the store floor, served by the service itself: the smart screen and the shop
assistant's view. Static HTML, CSS and JavaScript from this package: no build step, nothing
loaded from the network (they work offline in a store).

=================================================  =========================================
``GET /screen?store_id=…&member_id=…``             the smart screen: the member's shelf for
                                                   the store, a reason on every tile; the
                                                   time a tile is looked at (hovered,
                                                   touched or focused for 1 s or more) is
                                                   posted as a ``view`` event and the next
                                                   shelf is shown, its new tiles marked
``GET /assistant?member_id=…&store_id=…``          the shop assistant's view: the member's
                                                   tags, today's events, the shelf and the
                                                   coupon to offer (``POST /member``)
``GET /pages/static/<file>``                       the pages' scripts and style sheet
=================================================  =========================================

The HTML holds no data: the page's script reads ``store_id`` and ``member_id`` from its
address and calls the JSON routes (``POST /recommend``, ``POST /events``, ``POST /member``)
from the browser. So the pages and their files are served without the API key; when the
service has one, open the page as ``/screen?…#key=<key>``: the fragment never leaves the
browser, and the script sends ``Authorization: Bearer <key>`` on every call. A failed call
shows its ``{"error", "detail"}`` in the page.

The member id in a page's address is personal data: the gatekeeper handles page requests
first (:func:`~recsys.serving.pages.routing.inbound`) and strips their query string before
any route or log behind it sees it (BentoML's access log, outside it, writes the path
only). A page address without both parameters (or with others) is answered 400 with the
page, which says what is missing and calls nothing; any method but ``GET`` is a 4xx JSON
error. Every answer carries a Content-Security-Policy allowing the page's own origin only,
and ``Referrer-Policy: no-referrer``.

Examples
--------
>>> from recsys.serving.pages import PAGES, STATIC
>>> sorted(PAGES), STATIC
(['/assistant', '/screen'], '/pages/static/')
"""

from recsys.serving.pages.app import CONTENT_SECURITY_POLICY, pages_app
from recsys.serving.pages.routing import PAGES, STATIC, inbound, is_open, page_problem

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PAGES",
    "STATIC",
    "inbound",
    "is_open",
    "page_problem",
    "pages_app",
]
