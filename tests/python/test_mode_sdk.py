"""The `mode-sdk` package, unchanged, against reportstats: only the base URL
differs from what it would use against Mode."""

import pytest
from mode_sdk import Discovery, create_signature_token

from conftest import expected


def test_mode_sdk_mints_a_token_and_walks_report_stats(server):
    signature = create_signature_token(
        server.workspace,
        token=server.token,
        secret=server.secret,
        name="mode-sdk test",
        expires_at="2027-01-01T00:00Z",
        base_url=server.base_url,
    )
    assert signature.token and signature.access_key and signature.access_secret

    with Discovery(server.workspace, signature=signature, base_url=server.base_url) as discovery:
        for per_page in (1000, 7):
            page = discovery.report_stats(per_page=per_page)
            assert page.total_count == len(expected(False))
            assert [row.raw for row in page] == expected(False)

            page = discovery.report_stats(include_spaces="all", per_page=per_page)
            assert page.total_count == len(expected(True))
            assert [row.raw for row in page] == expected(True)


def test_mode_sdk_reports_a_revoked_token_as_an_authentication_error(server):
    import json
    import urllib.request
    from base64 import b64encode

    from mode_sdk.errors import AuthenticationError

    signature = create_signature_token(
        server.workspace,
        token=server.token,
        secret=server.secret,
        name="to be revoked",
        expires_at="2027-01-01T00:00:00+00:00",
        base_url=server.base_url,
    )
    basic = b64encode(f"{server.token}:{server.secret}".encode()).decode()
    request = urllib.request.Request(
        f"{server.base_url}/batch/{server.workspace}/signature_tokens/{signature.token}",
        method="DELETE",
        headers={"Authorization": f"Basic {basic}"},
    )
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["revoked_at"] is not None

    with Discovery(server.workspace, signature=signature, base_url=server.base_url, max_retries=0) as discovery:
        with pytest.raises(AuthenticationError):
            discovery.report_stats()
