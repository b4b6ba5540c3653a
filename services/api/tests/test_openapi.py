"""The OpenAPI document the API serves matches protocol.md's paths and documents the board."""

# protocol.md, "Board" and "Board additions", plus the account routes.
BOARD_ROUTES = {
    ("get", "/v1/posts"),
    ("post", "/v1/posts"),
    ("post", "/v1/posts/uploads"),
    ("get", "/v1/posts/{post_id}"),
    ("patch", "/v1/posts/{post_id}"),
    ("delete", "/v1/posts/{post_id}"),
    ("put", "/v1/posts/{post_id}/like"),
    ("delete", "/v1/posts/{post_id}/like"),
    ("get", "/v1/posts/{post_id}/comments"),
    ("post", "/v1/posts/{post_id}/comments"),
    ("patch", "/v1/comments/{comment_id}"),
    ("delete", "/v1/comments/{comment_id}"),
    ("post", "/v1/posts/{post_id}/remix"),
    ("post", "/v1/posts/{post_id}/report"),
    ("get", "/v1/users/{username}"),
    ("delete", "/v1/users/me"),
}


async def test_every_board_route_of_the_contract_is_documented(api):
    spec = (await api.get("/openapi.json")).json()
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert BOARD_ROUTES <= documented, BOARD_ROUTES - documented
    for method, path in BOARD_ROUTES:
        operation = spec["paths"][path][method]
        assert operation.get("description") or operation.get("summary"), (method, path)


async def test_board_bodies_have_examples_and_contract_fields(api):
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]
    assert schemas["PostIn"].get("examples"), "a post body example"
    for name in ("PostOut", "LikeOut", "CommentOut", "RemixOut", "ProfileOut"):
        assert name in schemas, name
    post = schemas["PostOut"]["properties"]
    assert {"post_id", "title", "body", "images", "made_with", "like_count"} <= set(post)
    remix = schemas["RemixOut"]["properties"]
    assert {"task_id", "status", "kind", "params"} <= set(remix)
    profile = schemas["ProfileOut"]["properties"]
    assert set(profile) == {"username", "joined", "post_count"}  # never an email
    made_with = schemas["MadeWith"]["properties"]
    assert set(made_with) == {"kind", "theme", "style", "prompt", "seed"}
