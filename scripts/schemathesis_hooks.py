"""schemathesis hooks for scripts/schemathesis: the Marathon error-shape check."""

import json

import schemathesis


@schemathesis.check
def marathon_error_shape(ctx, response, case):
    """Every error answer is Marathon's: a JSON object with a non-empty string `message`,
    and for 422 a non-empty `details` list of {path, errors}."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} answer is not JSON: {response.content[:200]!r}")
    if not isinstance(body, dict) or not isinstance(body.get("message"), str) or not body["message"]:
        raise AssertionError(f"{response.status_code} answer has no message: {body!r}")
    if response.status_code == 422:
        details = body.get("details")
        if body["message"] in ("Object is not valid", "Invalid JSON") and not (
            isinstance(details, list)
            and details
            and all(isinstance(d, dict) and "path" in d and isinstance(d.get("errors"), list) for d in details)
        ):
            raise AssertionError(f"422 answer without Marathon's details: {body!r}")
    return None
