"""The examples of Mode's "Report Stats" page, run against reportstats with
only the host changed: the curl commands, and the Python example ported from
urllib2 to Python 3's urllib.request and otherwise unchanged."""

import json
import subprocess
import urllib.request
from base64 import b64encode

from mode_sdk import create_signature_token

ROW_FIELDS = {
    "report_id", "report_token", "active_schedules_count", "explorations_count", "total_views_count",
    "recent_manual_run_creators_emails", "scheduled_run_creators_emails", "editors_emails",
}


def mint(server):
    return create_signature_token(
        server.workspace, token=server.token, secret=server.secret, name="seed examples",
        expires_at="2027-01-01T00:00:00Z", base_url=server.base_url,
    )


def assert_documented_shape(body: dict) -> None:
    assert set(body) == {"pagination", "report_stats", "_links"}
    assert set(body["pagination"]) == {"page", "per_page", "count", "total_pages", "total_count"}
    assert body["report_stats"], body
    for row in body["report_stats"]:
        assert ROW_FIELDS <= set(row), row


def test_the_seed_curl_examples_get_200_and_the_documented_shape(server):
    signature = mint(server)
    decoded_token = signature.token + ":" + signature.access_key + ":" + signature.access_secret
    bearer_token = "Bearer " + b64encode(decoded_token.encode("utf-8")).decode("utf-8")
    organization = server.workspace
    for url, rows in [
        (f"{server.base_url}/batch/{organization}/report_stats", 8),
        (f"{server.base_url}/batch/{organization}/report_stats?include_spaces=all", 12),
    ]:
        result = subprocess.run(
            [
                "curl", "--silent", "--show-error", "--write-out", "\n%{http_code}",
                "--location", "--request", "GET", url,
                "--header", "Content-Type: application/json",
                "--header", "Accept: application/json",
                "--header", f"Authorization: {bearer_token}",
            ],
            capture_output=True, text=True, check=True,
        )
        body, status = result.stdout.rsplit("\n", 1)
        assert status == "200", result.stdout
        body = json.loads(body)
        assert_documented_shape(body)
        assert len(body["report_stats"]) == rows


def test_the_seed_python_example_gets_200_and_the_documented_shape(server):
    signature = mint(server)
    token, access_key, access_secret = signature.token, signature.access_key, signature.access_secret

    # The seed's example, with `from urllib2 import ...` become urllib.request.
    from urllib.request import Request, urlopen

    decoded_token = token + ':' + access_key + ':' + access_secret
    encoded_token = b64encode(decoded_token.encode('utf-8'))
    bearer_token = 'Bearer ' + encoded_token.decode('utf-8')

    request = Request(server.base_url + "/batch/" + server.workspace + "/report_stats")

    request.add_header("Authorization", bearer_token)
    request.add_header("Accept", "application/json")
    request.add_header("Content-Type", "application/json")

    response = urlopen(request)
    response_body = response.read()

    assert response.status == 200
    body = json.loads(response_body)
    assert_documented_shape(body)
    assert body["pagination"]["total_count"] == 8

    # Optional Query Params
    request = Request(server.base_url + "/batch/" + server.workspace + "/report_stats?include_spaces=all")
    request.add_header("Authorization", bearer_token)
    request.add_header("Accept", "application/json")
    request.add_header("Content-Type", "application/json")
    body = json.loads(urlopen(request).read())
    assert body["pagination"]["total_count"] == 12
