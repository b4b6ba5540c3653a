"""Every board write route × guest, author, other user, admin: zero cross-user writes."""

import pytest

from .board_helpers import admin, guest, post, registered

# (method, path template, body): {post} and {comment} belong to the author.
WRITES = [
    ("PATCH", "/v1/posts/{post}", {"title": "Rewritten title"}),
    ("DELETE", "/v1/posts/{post}", None),
    ("PATCH", "/v1/comments/{comment}", {"body": "rewritten"}),
    ("DELETE", "/v1/comments/{comment}", None),
    ("PUT", "/v1/admin/posts/{post}/hidden", None),
    ("DELETE", "/v1/admin/posts/{post}/hidden", None),
    ("PUT", "/v1/admin/comments/{comment}/hidden", None),
    ("DELETE", "/v1/admin/comments/{comment}/hidden", None),
]
# Writes anyone registered may make on someone else's post.
OPEN_WRITES = [
    ("POST", "/v1/posts/{post}/comments", {"body": "nice"}),
    ("PUT", "/v1/posts/{post}/like", None),
    ("DELETE", "/v1/posts/{post}/like", None),
    ("POST", "/v1/posts/{post}/report", {"reason": "spam"}),
]
ALLOWED = {
    # who: routes of WRITES they may use on the author's content
    "guest": set(),
    "other": set(),
    "author": {0, 1, 2, 3},
    "admin": set(range(len(WRITES))),
}


async def _fixture_content(api):
    author = await registered(api)
    created = await post(api, author)
    comment = await api.post(
        f"/v1/posts/{created['post_id']}/comments", headers=author, json={"body": "mine"}
    )
    return author, created["post_id"], comment.json()["comment_id"]


async def _caller(api, api_settings, who: str, author: dict) -> dict:
    if who == "author":
        return author
    if who == "admin":
        return await admin(api, api_settings)
    return await (guest(api) if who == "guest" else registered(api))


@pytest.mark.parametrize("who", ["guest", "other", "author", "admin"])
async def test_only_authors_and_admins_change_content(api, api_settings, who):
    for index, (method, template, body) in enumerate(WRITES):
        author, post_id, comment_id = await _fixture_content(api)
        headers = await _caller(api, api_settings, who, author)
        path = template.format(post=post_id, comment=comment_id)
        response = await api.request(method, path, headers=headers, json=body)
        allowed = index in ALLOWED[who]
        assert (response.status_code < 400) == allowed, (who, method, path, response.text)
        if not allowed:
            assert response.status_code in (401, 403)
            page = (await api.get(f"/v1/posts/{post_id}")).json()
            assert page["title"] == "Whales on the wall"  # nothing changed
            comments = (await api.get(f"/v1/posts/{post_id}/comments")).json()["items"]
            assert [c["body"] for c in comments] == ["mine"]


@pytest.mark.parametrize("who", ["guest", "other", "admin"])
async def test_registered_users_comment_like_and_report_guests_do_not(api, api_settings, who):
    _author, post_id, _comment = await _fixture_content(api)
    headers = await _caller(api, api_settings, who, {})
    for method, template, body in OPEN_WRITES:
        response = await api.request(
            method, template.format(post=post_id), headers=headers, json=body
        )
        if who == "guest":
            assert response.status_code == 403, (method, template)
            assert response.json()["error"]["code"] == "registration_required"
        else:
            assert response.status_code < 300, (method, template, response.text)


async def test_every_board_write_needs_a_token(api):
    _author, post_id, comment_id = await _fixture_content(api)
    for method, template, body in [*WRITES, *OPEN_WRITES, ("POST", "/v1/posts", {})]:
        path = template.format(post=post_id, comment=comment_id)
        response = await api.request(method, path, json=body)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "token_missing"


async def test_only_admins_read_reports(api, api_settings):
    author, post_id, _ = await _fixture_content(api)
    reporter = await registered(api)
    report = await api.post(
        f"/v1/posts/{post_id}/report", headers=reporter, json={"reason": "spam"}
    )
    assert report.status_code == 202 and report.json()["status"] == "received"
    assert (await api.get("/v1/admin/reports", headers=author)).status_code == 403
    reports = await api.get("/v1/admin/reports", headers=await admin(api, api_settings))
    assert any(r["post_id"] == post_id for r in reports.json()["items"])
