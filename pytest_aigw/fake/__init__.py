"""The fake gateway: a plain function from an `httpx.Request` to an `httpx.Response`."""
