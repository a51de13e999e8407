"""Fields whose values the server assigns (SPEC 5): the reference cannot
predict them, so tests compare the rest exactly and hold these to what the
SPEC does say of them."""

import re

TWELVE_HEX = re.compile(r"[0-9a-f]{12}")
MEMBER_IDENTITY = ("id", "token", "member_token")


def without(row: dict, *fields: str) -> dict:
    return {field: value for field, value in row.items() if field not in fields}


def by_token(rows, *fields: str) -> dict:
    return {row["token"]: without(row, *fields) for row in rows}


def assert_ordered_by_id(rows):
    """Listed by id, ascending; ids are distinct integers."""
    ids = [row["id"] for row in rows]
    assert all(isinstance(id_, int) and not isinstance(id_, bool) for id_ in ids), ids
    assert ids == sorted(set(ids)), ids


def assert_member_identity(member: dict):
    """`id` an integer; `token` and `member_token` 12 hex digits, the
    membership's and the person's, so different."""
    assert isinstance(member["id"], int) and not isinstance(member["id"], bool), member
    assert TWELVE_HEX.fullmatch(member["token"]), member
    assert TWELVE_HEX.fullmatch(member["member_token"]), member
    assert member["token"] != member["member_token"], member


def by_email(members) -> dict:
    """Member objects keyed by email, without what the server derives."""
    return {member["member_email"]: without(member, *MEMBER_IDENTITY) for member in members}


def identities(members) -> dict:
    """email -> (id, token, member_token): to check they stay put."""
    return {member["member_email"]: tuple(member[field] for field in MEMBER_IDENTITY) for member in members}
