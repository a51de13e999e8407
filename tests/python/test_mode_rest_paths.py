"""Mode's REST paths that its clients follow (SPEC 5), with the workspace
API key as Mode's REST API is called: the memberships Amundsen's user
extractor walks, each member's /api/{username}, and the `report_url` and
`space_url` that the batch listings hand out. Also /spaces with
include_spaces=all, which no mode-sdk method can ask for."""

import base64

import httpx
import pytest

from conftest import USAGE_NOW, mint


@pytest.fixture
def rest(usage_server):
    """A client with the workspace API key (Basic)."""
    with httpx.Client(base_url=usage_server.base_url, auth=(usage_server.token, usage_server.secret),
                      headers={"Accept": "application/hal+json"}) as client:
        yield client


def pages(client, path, params):
    """Every page of a listing, following `_links.next_page` as given."""
    response = client.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        yield body
        next_page = body["_links"].get("next_page")
        if next_page is None:
            return
        response = client.get(next_page["href"])


def memberships(client, workspace, per_page=3):
    return [membership for body in pages(client, f"/api/{workspace}/memberships", {"per_page": per_page})
            for membership in body["_embedded"]["memberships"]]


def test_memberships_link_each_member_to_their_user(rest, usage_server, usage_reference):
    listed = {membership["member_token"]: membership for membership in memberships(rest, usage_server.workspace)}
    members = [member for body in pages(rest, f"/batch/{usage_server.workspace}/members", {})
               for member in body["members"]]
    # The same memberships as the batch listing's member objects.
    assert set(listed) == {member["member_token"] for member in members}
    for member in members:
        membership = listed[member["member_token"]]
        assert membership["token"] == member["token"]
        assert membership["member_username"] == member["member_username"]
        assert membership["state"] == "active"
        assert membership["_links"]["user"]["href"] == f"/api/{member['member_username']}"
    assert sorted(member["member_email"] for member in members) == [
        row["email"] for row in usage_reference.member_rows()]


def test_each_member_resolves_at_their_username(rest, usage_server, usage_reference):
    members = {member["member_username"]: member
               for body in pages(rest, f"/batch/{usage_server.workspace}/members", {})
               for member in body["members"]}
    for row in usage_reference.member_rows():
        response = rest.get(f"/api/{row['username']}")
        assert response.status_code == 200, response.text
        user = response.json()
        assert (user["username"], user["email"], user["name"]) == (row["username"], row["email"], row["name"])
        # The user is the person, so their token is the membership's member_token.
        assert user["token"] == members[row["username"]]["member_token"]


def test_anyone_else_is_not_found(rest):
    response = rest.get("/api/nobody-here")
    assert response.status_code == 404
    assert response.json()["id"] == "not_found"


def test_a_member_without_a_username_is_addressed_by_their_member_token(rest, usage_server):
    event = {"id": "rest-paths-1", "type": "member_upserted", "occurred_at": USAGE_NOW,
             "email": "No.Name@Company4.com"}
    response = rest.post(f"/api/{usage_server.workspace}/events", json=[event])
    assert response.status_code == 200, response.text
    nameless = [membership for membership in memberships(rest, usage_server.workspace, per_page=1000)
                if membership["member_username"] is None]
    assert len(nameless) == 1
    href = nameless[0]["_links"]["user"]["href"]
    assert href == f"/api/{nameless[0]['member_token']}"
    user = rest.get(href).json()
    assert (user["email"], user["username"], user["token"]) == (
        "no.name@company4.com", None, nameless[0]["member_token"])


def test_every_report_url_resolves_to_its_listed_report(rest, usage_server, usage_reference):
    for report in usage_reference.report_rows(usage_server.workspace, True):
        response = rest.get(report["report_url"])
        assert response.status_code == 200, (report["report_url"], response.text)
        assert response.json() == report


def test_every_space_url_resolves_to_its_listed_space(rest, usage_server, usage_reference):
    """Deleted and never-upserted spaces included: their rows are listed, so
    their URLs must resolve (SPEC 5, "Joins never break")."""
    for space in usage_reference.joined_space_rows(usage_server.workspace, True):
        response = rest.get(space["space_url"])
        assert response.status_code == 200, (space["space_url"], response.text)
        assert response.json() == space


def test_spaces_with_include_spaces_all_list_personal_spaces_too(usage_server, usage_reference):
    signature = mint(usage_server)
    triple = f"{signature.token}:{signature.access_key}:{signature.access_secret}"
    headers = {"Authorization": "Bearer " + base64.b64encode(triple.encode()).decode()}
    with httpx.Client(base_url=usage_server.base_url, headers=headers) as client:
        rows = [space for body in pages(client, f"/batch/{usage_server.workspace}/spaces",
                                        {"include_spaces": "all", "per_page": 7})
                for space in body["spaces"]]
    assert rows == usage_reference.joined_space_rows(usage_server.workspace, True)
