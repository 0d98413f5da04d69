"""The console's "send to me": bind the operator's own WeChat by a one-time QR code, unbind it, and have a post sent
to it from its preview page.

The console only writes rows (posts/sendtome.py): the scheduler makes the QR code and sends the test; the bot binds
whoever scans the code. The QR image is drawn here from the ticket's URL (a PNG in a data: address, so the page
needs nothing from WeChat's servers). Every role may bind and send to themselves. Each handler takes the console
and the signed-in request (console.app.Ctx), like the console's own pages.
"""

from __future__ import annotations

import base64
import io
import secrets
from typing import TYPE_CHECKING, Any

import qrcode
from qrcode.image.pure import PyPNGImage
from starlette.responses import RedirectResponse, Response

from posts import limits, sendtome
from posts.queue import Post
from posts.sendtome import SendToMeError

if TYPE_CHECKING:
    from console.app import Console, Ctx


def qr_data_url(data: str) -> str:
    """A QR code of ``data`` as a data: address of a PNG image."""
    qr = qrcode.QRCode(box_size=6, border=2, image_factory=PyPNGImage)
    qr.add_data(data)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _state(ctx: Ctx) -> dict[str, Any]:
    bound = sendtome.binding(ctx.db, ctx.user.id)
    code = None if bound else sendtome.current_code(ctx.db, ctx.user.id, ctx.now)
    return {
        "bound": bound,
        "tail": sendtome.tail(bound.openid) if bound else "",
        "code": code,
        "qr_image": qr_data_url(code.qr_url) if code is not None and code.state == "ready" else "",
    }


def bind_page(console: Console, ctx: Ctx) -> Response:
    return console.render("wechat", ctx.request, ctx=ctx, **_state(ctx))


def bind_status(console: Console, ctx: Ctx) -> Response:
    """The binding's part of the page alone: htmx asks for it every few seconds while a code is shown."""
    return console.render("_wechat_status", ctx.request, ctx=ctx, **_state(ctx))


def request_code(console: Console, ctx: Ctx) -> Response:
    if sendtome.binding(ctx.db, ctx.user.id) is None:
        sendtome.request_code(ctx.db, ctx.user, ctx.now)
        ctx.db.commit()
    return RedirectResponse("/me/wechat?done=wechat_code", status_code=303)


def unbind(console: Console, ctx: Ctx) -> Response:
    sendtome.unbind(ctx.db, ctx.user, ctx.now)
    ctx.db.commit()
    return RedirectResponse("/me/wechat?done=wechat_unbound", status_code=303)


def preview_values(ctx: Ctx, post: Post) -> dict[str, Any]:
    """What the preview page shows of "send to me": bound or not, this operator's latest test sends of the post."""
    bound = sendtome.binding(ctx.db, ctx.user.id)
    sends = sendtome.test_sends(ctx.db, post.id, ctx.user.id)
    return {
        "wechat_bound": bound,
        "wechat_tail": sendtome.tail(bound.openid) if bound else "",
        "test_sends": sends,
        "test_waiting": any(s.state in sendtome.OPEN_SEND_STATES for s in sends),
        "send_key": secrets.token_urlsafe(12),
        "preview_limit": limits.MASS_PREVIEW_PER_DAY,
    }


def send_to_me(console: Console, ctx: Ctx) -> Response:
    post = ctx.db.get(Post, int(ctx.request.path_params["post_id"]))
    if post is None:
        return console.refuse(ctx, "not_found", 404)
    try:
        key = ctx.form.get("send_key") or secrets.token_urlsafe(12)
        sendtome.request_test_send(ctx.db, ctx.user, post, ctx.now, key)
    except SendToMeError as exc:
        ctx.db.rollback()
        return console.refuse(ctx, f"sendtome_{exc.code}", 409)
    ctx.db.commit()
    return RedirectResponse(f"/posts/{post.id}/preview?done=test_send_queued#send-to-me", status_code=303)


def test_sends_part(console: Console, ctx: Ctx) -> Response:
    """The test sends' part of the preview page alone (htmx asks for it while one is on its way)."""
    post = ctx.db.get(Post, int(ctx.request.path_params["post_id"]))
    if post is None:
        return console.refuse(ctx, "not_found", 404)
    return console.render("_test_sends", ctx.request, ctx=ctx, post=post, **preview_values(ctx, post))


ROUTES = [
    ("GET", "/me/wechat", bind_page),
    ("GET", "/me/wechat/status", bind_status),
    ("POST", "/me/wechat/code", request_code),
    ("POST", "/me/wechat/unbind", unbind),
    ("POST", "/posts/{post_id:int}/send-to-me", send_to_me),
    ("GET", "/posts/{post_id:int}/send-to-me", test_sends_part),
]
"""(method, path, handler), behind the console's sign-in; listed before the posts' generic action route."""
