"""The served OpenAPI document is a valid OpenAPI 3 document."""

import json
import urllib.request

from openapi_spec_validator import validate


def test_the_served_openapi_document_validates(server):
    with urllib.request.urlopen(f"{server.base_url}/openapi.json") as response:
        document = json.loads(response.read())
    validate(document)
    assert "/batch/{workspace}/report_stats" in document["paths"]
