"""The wechatpy 1.8 + Flask baseline: the same two replies, served by gunicorn from a separate venv (no project
imports).

The usual way to write a wechatpy callback: check the signature, decrypt in safe mode, parse, reply, encrypt.
"""

import json
import os

from flask import Flask, abort, request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature


def build():
    with open(os.environ["BENCH_WEROBOT_CONFIG"], encoding="utf-8") as file:
        config = json.load(file)
    token = config["token"]
    crypto = WeChatCrypto(token, config["encoding_aes_key"], config["app_id"])
    app = Flask(__name__)

    @app.route("/wechat", methods=["GET", "POST"])
    def wechat():
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        try:
            check_signature(token, args.get("signature", ""), timestamp, nonce)
        except InvalidSignatureException:
            abort(403)
        if request.method == "GET":
            return args.get("echostr", "")
        body = request.get_data()
        aes = args.get("encrypt_type") == "aes"
        if aes:
            try:
                body = crypto.decrypt_message(body, args.get("msg_signature", ""), timestamp, nonce)
            except InvalidSignatureException:
                abort(403)
        message = parse_message(body)
        reply = ""
        if message.type == "text" and message.content == config["keyword"]:
            reply = config["keyword_reply"]
        elif message.type == "event" and message.event == "click" and message.key == config["click_key"]:
            reply = config["click_reply"]
        if not reply:
            return "success"
        xml = create_reply(reply, message).render()
        return crypto.encrypt_message(xml, nonce, timestamp) if aes else xml

    return app


app = build()
