"""The official test vectors of the reference (§1.7), as test data."""

from __future__ import annotations

V1_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

V3_TIMESTAMP, V3_NONCE = "1409735669", "1320562132"
V3_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
V3_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
    "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
    "</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655"
    "HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWN"
    "lZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3"
    "yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJS"
    "gM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>"
)

V4_TIMESTAMP, V4_NONCE = "1410349438", "298025754"
V4_MSG_SIGNATURE = "003fee52ecc56afb46c00b5c7721be87860ce785"
V4_ENCRYPT = (
    "mfBCs65c67CeJw22u4VT2TD73q5H06+ocrAIxswCaeZ/d/Lw0msSZFHY0teqgSYiI1zR2gD2DKrB3TIrmX/liNSDrGqS8jSI/WPeKB5VPr7Ezr7gomZ"
    "AyGCwJSgT1TRFWPfONGJMxuj2nk4faTuspAuVIFQ6SHwZuJBZC7mcJp7Cgr9cUhATQWDbOPaE7ukZBTV2YqyzH+UI2AK+J1S47cE79k1RX8t0hcTz/"
    "O0hlK8DGXKnvYv88qKQcI7z4iaajqHfRVZKBNyOODabs+It+ZfM3dWTeFcPgDbGtIEnpt/EDtuuA/zMvtkaKdHdswPnVZQ+xdwbYr3ldGvfT8HlEYEgk"
    "gKaThxTFobVlwzu2ZkXCjicbP3xdr15Iq48ObgzPpqYuZ3IEoyggZDKClquk0u0orMck4GTF/XyE8yGzc4="
)
V4_BODY = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{V4_ENCRYPT}]]></Encrypt></xml>"

V5_TOKEN, V5_KEY, V5_APP_ID = "AAAAA", "A" * 43, "wx134c8103faa5a59e"
V5R_RANDOM, V5R_TIMESTAMP, V5R_NONCE = "999951349e8ee746", "1713424427", "415670741"
V5R_PLAINTEXT = "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>"
V5R_ENCRYPT = (
    "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WELwqrGd7j"
    "MnV0zv3Zc9Nq7"
)
V5R_SIGNATURE = "03e0812039325c2712ef5f0f980fd14c70d6e307"

V8_TOKEN, V8_KEY, V8_APP_ID = "123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"
V8_TIMESTAMP, V8_NONCE = "1411525903", "461056294"
V8_MSG_SIGNATURE = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
V8_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJ"
    "RvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZB"
    "tDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxu"
    "GhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)

V10_RANDOM = "aaaabbbbccccdddd"
V10_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></ToUserName><FromUserName><![CDATA[gh_10f6c3c3ac5a]]>"
    "</FromUserName><CreateTime>1409735669</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]>"
    "</Content></xml>"
)
V10_ENCRYPT = (
    "jn1L23DB+6ELqJ+6bruv21YlImyg655L0pzu4wzr1EI/1ELf0N6D8IOi7XSAJxDhr8sw1Qg+DBsbNkk8HefZUetqFqcfOZs7NxWF4zu+rM9d03x8bvQ"
    "I0v8ZnIMczIMASBrl6g6vTtXXVt3KbKBSLcr6mAMqoMfDkCD8ug2YUbwK3jAu+dNYjGjQYCVt6xgbpZlM4z5Dae4s1NCgn/GTKVZVVLFlJBxRDYLuQ"
    "Qcl5wE76dW+U7Kc9IgfvXzwg1TvJuCl3iWzfWfX1N3fty9I39qrxdhHCklSG7u5k06yuzbDuX0Avu5kPlw4heRdKElUpcdOYXKzSxPcuemfNsEc02W"
    "ixO1kEIYADrQL5YCAL1ZE7rN7rQX3EVKsXzzT6zLg"
)
V10_SIGNATURE = "7644f55a123e5aee2a9bf2535b6ca5bf076f2aef"
