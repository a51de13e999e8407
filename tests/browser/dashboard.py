"""The dashboard in a real browser: Debian's headless Chromium, driven by
Playwright, against a running `reportstats demo` (tests/dashboard.rs starts
it and passes what it printed in the environment).

It signs in with each kind of credential, opens every page, checks the
headline numbers and the stale reports against the JSON API, follows a
sort and a report link, checks the cookie's flags and the security
headers, sees no console error and no request to another origin, signs
out, and sees a revoked credential's session end. Screenshots of every
page, at 1366x900, go to $SCREENSHOTS.
"""

import base64
import json
import os
import re
import sys
import urllib.error
import urllib.request
from urllib.parse import urljoin

from playwright.sync_api import sync_playwright

BASE = os.environ["REPORTSTATS_URL"].rstrip("/")
WORKSPACE = os.environ["REPORTSTATS_WORKSPACE"]
API_TOKEN = os.environ["REPORTSTATS_API_TOKEN"]
API_SECRET = os.environ["REPORTSTATS_API_SECRET"]
SIGNATURE = (
    os.environ["REPORTSTATS_SIGNATURE_TOKEN"],
    os.environ["REPORTSTATS_SIGNATURE_ACCESS_KEY"],
    os.environ["REPORTSTATS_SIGNATURE_ACCESS_SECRET"],
)
CHROMIUM = os.environ["REPORTSTATS_CHROMIUM"]
SCREENSHOTS = os.environ["REPORTSTATS_SCREENSHOTS"]
UI = f"{BASE}/ui/{WORKSPACE}/"


def api(path, method="GET"):
    """The JSON API with the workspace API key."""
    request = urllib.request.Request(BASE + path, method=method)
    basic = base64.b64encode(f"{API_TOKEN}:{API_SECRET}".encode()).decode()
    request.add_header("Authorization", f"Basic {basic}")
    request.add_header("Accept", "application/json")
    with urllib.request.urlopen(request) as answer:
        body = answer.read()
        return json.loads(body) if body else None


def number(text):
    """A number as the dashboard writes it: 1,234."""
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", text), f"not a formatted number: {text!r}"
    return int(text.replace(",", ""))


class Watch:
    """What a page does that it must not: console errors, failed requests,
    requests to another origin."""

    def __init__(self, page):
        self.problems = []
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", self.request)
        page.on("requestfailed", self.failed)

    def console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def failed(self, request):
        # A navigation cancels what the page before it was still loading.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url}: {request.failure}")

    def request(self, request):
        if not request.url.startswith(BASE + "/"):
            self.problems.append(f"request to another origin: {request.url}")

    def check(self, where):
        assert not self.problems, f"{where}: {self.problems}"


def shot(page, name):
    page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=False)


def security_headers(response, where):
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp, f"{where}: CSP {csp!r}"
    assert "frame-ancestors 'none'" in csp, f"{where}: CSP {csp!r}"
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy"), where


def sign_in_with_signature_token(page):
    form = page.get_by_test_id("signature-token-form")
    token, key, secret = SIGNATURE
    form.locator("input[name=token]").fill(token)
    form.locator("input[name=access_key]").fill(key)
    form.locator("input[name=access_secret]").fill(secret)
    with page.expect_navigation():
        form.locator("button").click()


def sign_in_with_api_key(page, secret=API_SECRET):
    form = page.get_by_test_id("api-key-form")
    form.locator("input[name=token]").fill(API_TOKEN)
    form.locator("input[name=secret]").fill(secret)
    with page.expect_navigation():
        form.locator("button").click()


def check_overview(page):
    """The headline numbers and the stale reports, against the API."""
    reports = api(f"/batch/{WORKSPACE}/report_usage?per_page=1")["pagination"]["total_count"]
    stale = api(f"/batch/{WORKSPACE}/report_usage?unviewed_days=90&sort=-total_views_count&per_page=10")
    daily = api(f"/batch/{WORKSPACE}/usage_daily")
    shown = {
        test_id: number(page.get_by_test_id(test_id).inner_text().strip())
        for test_id in ["reports", "views_30d", "viewers_30d", "stale_reports_90d"]
    }
    assert shown == {
        "reports": reports,
        "views_30d": daily["totals"]["views"],
        "viewers_30d": daily["totals"]["viewers"],
        "stale_reports_90d": stale["pagination"]["total_count"],
    }, shown
    assert shown["reports"] > 0 and shown["views_30d"] > 0 and shown["stale_reports_90d"] > 0, shown
    listed = page.get_by_test_id("stale-reports").locator("tr[data-report-id]")
    ids = [int(row.get_attribute("data-report-id")) for row in listed.all()]
    assert ids == [row["report_id"] for row in stale["report_usage"]], ids
    svg = page.locator("svg.chart").first
    assert svg.is_visible()
    assert "Date (UTC)" in svg.inner_html()


def check_reports_table(page, watch):
    response = page.goto(UI + "reports")
    security_headers(response, "reports")
    rows = page.locator("table[data-testid=reports-table] tr[data-report-id]")
    api_rows = api(f"/batch/{WORKSPACE}/report_usage?per_page=50")["report_usage"]
    assert [int(r.get_attribute("data-report-id")) for r in rows.all()] == [
        row["report_id"] for row in api_rows
    ]
    shot(page, "reports")
    # A click on a column sorts by it, most first, and says so in the URL.
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^Views 30d")).click()
    assert "sort=-views_30d" in page.url, page.url
    sorted_rows = api(f"/batch/{WORKSPACE}/report_usage?per_page=50&sort=-views_30d")["report_usage"]
    assert [int(r.get_attribute("data-report-id")) for r in rows.all()] == [
        row["report_id"] for row in sorted_rows
    ]
    # Again: the other way.
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^Views 30d")).click()
    assert "sort=views_30d" in page.url and "sort=-" not in page.url, page.url
    # The filters go into the URL, as report_usage's own parameters.
    page.goto(UI + "reports")
    page.locator("input[name=unviewed_days]").fill("90")
    with page.expect_navigation():
        page.locator("form.filters button").click()
    assert "unviewed_days=90" in page.url, page.url
    stale_total = api(f"/batch/{WORKSPACE}/report_usage?unviewed_days=90&per_page=1")["pagination"]["total_count"]
    assert page.get_by_test_id("shown").inner_text().endswith(f"of {stale_total:,} reports")
    # The CSV of what is shown.
    csv_href = page.get_by_test_id("csv").get_attribute("href")
    assert "unviewed_days=90" in csv_href, csv_href
    csv = page.request.get(urljoin(page.url, csv_href))
    assert csv.status == 200, csv.status
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text().strip().splitlines()
    assert lines[0].startswith("report_id,"), lines[0]
    assert len(lines) == stale_total + 1, (len(lines), stale_total)
    watch.check("reports")


def check_report_page(page, watch):
    page.goto(UI + "reports?sort=-views_30d")
    first = page.locator("table[data-testid=reports-table] tr[data-report-id]").first
    report_id = int(first.get_attribute("data-report-id"))
    with page.expect_navigation():
        first.locator("a").first.click()
    assert "/reports/" in page.url, page.url
    usage = api(f"/batch/{WORKSPACE}/report_usage?sort=-views_30d&per_page=1")["report_usage"][0]
    assert usage["report_id"] == report_id
    assert page.get_by_test_id("report-name").inner_text() == usage["name"]
    assert page.locator("svg.chart").first.is_visible()
    shot(page, "report")
    watch.check("report page")


def main():
    os.makedirs(SCREENSHOTS, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        watch = Watch(page)

        # Not signed in: the form.
        response = page.goto(BASE + "/")
        assert page.url == BASE + "/sign-in", page.url
        security_headers(response, "sign-in")
        page.goto(UI + "reports")
        assert page.url == BASE + "/sign-in", page.url
        shot(page, "sign-in")

        # A wrong secret: the form again, saying so.
        sign_in_with_api_key(page, secret="not-the-secret")
        assert page.url == BASE + "/sign-in", page.url
        assert "not valid" in page.get_by_test_id("sign-in-error").inner_text()

        # The signature token.
        sign_in_with_signature_token(page)
        assert page.url == UI, page.url
        cookies = [c for c in context.cookies() if c["name"] == "reportstats_session"]
        assert len(cookies) == 1, cookies
        cookie = cookies[0]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
        assert cookie["path"] == "/" and not cookie["secure"], cookie  # plain HTTP here
        assert 11 * 3600 < cookie["expires"] - __import__("time").time() <= 12 * 3600 + 60, cookie
        assert cookie["value"] not in page.url
        response = page.reload()
        security_headers(response, "overview")
        check_overview(page)
        shot(page, "overview")
        watch.check("overview")

        # Another workspace is not found, as in the API.
        response = page.goto(f"{BASE}/ui/no-such-workspace/")
        assert response.status == 404, response.status
        watch.problems.clear()  # the 404 just asked for

        check_reports_table(page, watch)
        check_report_page(page, watch)

        response = page.goto(UI + "members")
        assert response.status == 200
        members = api(f"/batch/{WORKSPACE}/members?per_page=1")["pagination"]["total_count"]
        assert f"of {members:,} members" in page.get_by_test_id("engagement").inner_text()
        shot(page, "members")
        response = page.goto(UI + "spaces")
        assert response.status == 200
        assert page.locator("table[data-testid=spaces-table] tbody tr").count() > 0
        shot(page, "spaces")

        # Personal spaces: the toggle, as include_spaces=all.
        page.goto(UI)
        with page.expect_navigation():
            page.get_by_test_id("scope-toggle").click()
        assert "include_spaces=all" in page.url, page.url
        all_reports = api(f"/batch/{WORKSPACE}/report_usage?per_page=1&include_spaces=all")
        assert number(page.get_by_test_id("reports").inner_text()) == all_reports["pagination"]["total_count"]
        watch.check("pages")

        # Signing out ends the session.
        with page.expect_navigation():
            page.locator("form.sign-out button").click()
        assert page.url == BASE + "/sign-in", page.url
        page.goto(UI)
        assert page.url == BASE + "/sign-in", page.url

        # The API key too; a session of a revoked credential ends at once.
        sign_in_with_api_key(page)
        assert page.url == UI, page.url
        page.goto(BASE + "/sign-in")
        sign_in_with_signature_token(page)
        assert page.url == UI, page.url
        api(f"/batch/{WORKSPACE}/signature_tokens/{SIGNATURE[0]}", method="DELETE")
        page.goto(UI + "reports")
        assert page.url == BASE + "/sign-in", page.url
        watch.check("sign-out and revocation")

        browser.close()
    print("dashboard: every check passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as error:
        print(f"dashboard check failed: {error}", file=sys.stderr)
        raise
