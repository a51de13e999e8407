"""SPEC sections 3-5 computed from an NDJSON file in plain Python, written
apart from the Rust code so that tests can check the server's answers
against an independent reading of the rules (and of the README's
decisions where the spec is silent)."""

import hashlib
import json
from datetime import datetime, timedelta, timezone


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def shown(moment):
    """RFC 3339 in UTC with milliseconds, or None."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def space_id(token: str) -> int:
    return max(int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "big") >> 11, 1)


class Register:
    """Last writer wins by (occurred_at, id in byte order)."""

    def __init__(self):
        self.stamp = None
        self.value = None

    def write(self, event, value):
        stamp = (instant(event["occurred_at"]), event["id"].encode())
        if self.stamp is None or stamp > self.stamp:
            self.stamp, self.value = stamp, value

    @property
    def at(self):
        return self.stamp[0] if self.stamp else None


def later(a, b):
    return b if a is None or (b is not None and b > a) else a


def earlier(a, b):
    return b if a is None or (b is not None and b < a) else a


# SPEC 5, Mode's member object: the events whose email is a person acting
# (of runs, only manual ones are started by a person).
ACTIVITY = {"report_created", "report_edited", "report_viewed", "report_run", "schedule_created",
            "exploration_created", "query_created", "query_edited", "chart_created", "chart_edited"}

# The member object's "latest event of this kind" fields, by event type.
LAST_OF = {"report_created": ("last_report_created_at",), "report_viewed": ("last_report_viewed_at",),
           "report_run": ("last_report_run_at",),
           "exploration_created": ("last_exploration_created_at", "last_exploration_updated_at")}


class Workspace:
    def __init__(self, lines):
        self.reports, self.schedules, self.explorations, self.spaces, self.members = {}, {}, {}, {}, {}
        self.queries, self.charts = {}, {}
        # email -> what Mode's member object says about its activity
        self.activity = {}
        seen = set()
        for line in lines:
            if not line.strip():
                continue
            event = json.loads(line)
            if event["id"] in seen:
                continue  # the first event stored with an id wins
            seen.add(event["id"])
            self.record(event)

    def report(self, report_id):
        return self.reports.setdefault(report_id, {
            "definition": Register(), "name": Register(), "description": Register(), "space": Register(),
            "last_run": Register(), "deleted": False, "views": 0, "last_viewed_at": None, "created_at": None,
            "edited_at": None, "editors": set(), "manual": {}, "scheduled": set(), "last_success": None,
        })

    def member(self, email):
        return self.members.setdefault(email, {"profile": Register(), "present": Register(), "activated_at": None})

    def record(self, event):
        kind, at = event["type"], instant(event["occurred_at"])
        email = event.get("email", "").lower() or None
        if email is not None:
            self.note_activity(kind, event, email, at)
        if kind == "member_upserted":
            member = self.member(email)
            member["profile"].write(event, (event.get("username"), event.get("name")))
            member["present"].write(event, True)
            member["activated_at"] = earlier(member["activated_at"], at)
        elif kind == "member_removed":
            self.member(email)["present"].write(event, False)
        elif kind.startswith("query_"):
            self.record_query(kind, event, email, at)
        elif kind.startswith("chart_"):
            self.record_chart(kind, event, email, at)
        elif kind == "space_upserted":
            space = self.spaces.setdefault(event["space_token"], {"definition": Register(), "deleted": False})
            space["definition"].write(
                event, (event["name"], event.get("description"), event.get("space_type") or "custom"))
        elif kind == "space_deleted":
            self.spaces.setdefault(event["space_token"], {"definition": Register(), "deleted": False})["deleted"] = True
        elif kind.startswith("report_"):
            report = self.report(event["report_id"])
            if kind == "report_created":
                report["definition"].write(event, (event["report_token"], email))
                report["name"].write(event, event["name"])
                report["description"].write(event, event.get("description"))
                report["space"].write(event, event["space_token"])
                report["created_at"] = at if report["created_at"] is None else min(report["created_at"], at)
            elif kind == "report_edited":
                report["editors"].add(email)
                report["edited_at"] = later(report["edited_at"], at)
                if event.get("name") is not None:
                    report["name"].write(event, event["name"])
                if event.get("description") is not None:
                    report["description"].write(event, event["description"])
            elif kind == "report_moved":
                report["space"].write(event, event["space_token"])
            elif kind == "report_deleted":
                report["deleted"] = True
            elif kind == "report_viewed":
                report["views"] += 1
                report["last_viewed_at"] = later(report["last_viewed_at"], at)
            elif kind == "report_run":
                if event["trigger"] == "manual":
                    report["manual"][email] = later(report["manual"].get(email), at)
                else:
                    report["scheduled"].add(event["schedule_token"])
                state = event.get("state") or "succeeded"
                report["last_run"].write(event, (event["run_token"], state))
                if state == "succeeded":
                    report["last_success"] = later(report["last_success"], at)
        elif kind.startswith("schedule_"):
            schedule = self.schedules.setdefault(
                event["schedule_token"], {"definition": Register(), "paused": Register(), "deleted": False})
            if kind == "schedule_created":
                schedule["definition"].write(event, (event["report_id"], email))
            elif kind in ("schedule_paused", "schedule_resumed"):
                schedule["paused"].write(event, kind == "schedule_paused")
            else:
                schedule["deleted"] = True
        elif kind.startswith("exploration_"):
            exploration = self.explorations.setdefault(
                event["exploration_token"], {"definition": Register(), "deleted": False})
            if kind == "exploration_created":
                exploration["definition"].write(event, (event["report_id"], email))
            else:
                exploration["deleted"] = True

    def personal(self, report):
        space = self.spaces.get(report["space"].value)
        return bool(space and space["definition"].value and space["definition"].value[2] == "private")

    def listed(self, include_all):
        for report_id in sorted(self.reports):
            report = self.reports[report_id]
            if report["definition"].value is None or report["deleted"]:
                continue
            if not include_all and self.personal(report):
                continue
            yield report_id, report

    def report_stats(self, as_of: datetime, include_all: bool, recent_days: int = 90):
        since = as_of - timedelta(days=recent_days)
        rows = []
        for report_id, report in self.listed(include_all):
            token, creator = report["definition"].value
            active = sum(
                1 for schedule in self.schedules.values()
                if schedule["definition"].value and schedule["definition"].value[0] == report_id
                and not schedule["deleted"] and not schedule["paused"].value)
            explorations = sum(
                1 for exploration in self.explorations.values()
                if exploration["definition"].value and exploration["definition"].value[0] == report_id
                and not exploration["deleted"])
            scheduled = {
                self.schedules[token_]["definition"].value[1] for token_ in report["scheduled"]
                if token_ in self.schedules and self.schedules[token_]["definition"].value}
            rows.append({
                "report_id": report_id, "report_token": token,
                "active_schedules_count": active, "explorations_count": explorations,
                "total_views_count": report["views"], "view_count": report["views"],
                "recent_manual_run_creators_emails": sorted(
                    email for email, last in report["manual"].items() if last >= since),
                "scheduled_run_creators_emails": sorted(scheduled),
                "editors_emails": sorted(report["editors"] | {creator}),
            })
        return rows

    def report_rows(self, workspace: str, include_all: bool):
        rows = []
        for report_id, report in self.listed(include_all):
            token, creator = report["definition"].value
            last_run = report["last_run"]
            space = report["space"].value
            rows.append({
                "id": report_id, "token": token, "name": report["name"].value,
                "description": report["description"].value,
                "created_at": shown(report["created_at"]), "edited_at": shown(report["edited_at"]),
                "updated_at": shown(max(x for x in (report["definition"].at, report["edited_at"], report["space"].at)
                                        if x is not None)),
                "last_run_at": shown(last_run.at),
                "last_run_token": last_run.value[0] if last_run.value else None,
                "last_run_state": last_run.value[1] if last_run.value else None,
                "last_successfully_run_at": shown(report["last_success"]),
                "last_viewed_at": shown(report["last_viewed_at"]),
                "creator_email": creator, "space_id": space_id(space), "space_token": space,
                "report_url": f"/api/{workspace}/reports/{token}",
            })
        return rows

    def space_rows(self, workspace: str, include_all: bool):
        rows = []
        for token, space in self.spaces.items():
            if space["deleted"] or space["definition"].value is None:
                continue
            name, description, space_type = space["definition"].value
            if space_type == "private" and not include_all:
                continue
            rows.append({"id": space_id(token), "token": token, "name": name, "description": description,
                         "space_type": space_type, "space_url": f"/api/{workspace}/spaces/{token}"})
        return sorted(rows, key=lambda row: row["id"])

    def member_rows(self):
        rows = []
        for email in sorted(self.members, key=lambda email: email.encode()):
            member = self.members[email]
            if not member["present"].value:
                continue
            username, name = member["profile"].value or (None, None)
            rows.append({"email": email, "username": username, "name": name})
        return rows

    def note_activity(self, kind, event, email, at):
        if kind not in ACTIVITY or (kind == "report_run" and event.get("trigger") != "manual"):
            return
        activity = self.activity.setdefault(email, {"days": set(), "last": {}})
        activity["days"].add(at.date())
        for field in LAST_OF.get(kind, ()):
            activity["last"][field] = later(activity["last"].get(field), at)

    # Queries and charts (SPEC 3) fold like reports: one register per
    # attribute, so a field an edit leaves out keeps its value.

    def record_query(self, kind, event, email, at):
        query = self.queries.setdefault(event["query_token"], {
            "definition": Register(), "name": Register(), "raw_query": Register(), "data_source_token": Register(),
            "created_at": None, "updated_at": None, "deleted": False})
        if kind == "query_deleted":
            query["deleted"] = True
            return
        if kind == "query_created":
            query["definition"].write(event, (event["report_id"], email))
            query["created_at"] = earlier(query["created_at"], at)
        for field in ("name", "raw_query", "data_source_token"):
            if event.get(field) is not None:
                query[field].write(event, event[field])
        query["updated_at"] = later(query["updated_at"], at)

    def record_chart(self, kind, event, email, at):
        chart = self.charts.setdefault(event["chart_token"], {
            "definition": Register(), "chart_type": Register(), "chart_title": Register(), "deleted": False})
        if kind == "chart_deleted":
            chart["deleted"] = True
            return
        if kind == "chart_created":
            chart["definition"].write(event, (event["query_token"], email))
        for field in ("chart_type", "chart_title"):
            if event.get(field) is not None:
                chart[field].write(event, event[field])

    def listed_queries(self, include_all):
        """token -> (query, its report's id), for queries listed under `include_all`."""
        reports = dict(self.listed(include_all))
        listed = {}
        for token, query in self.queries.items():
            if query["deleted"] or query["definition"].value is None:
                continue
            report_id, _creator = query["definition"].value
            if report_id in reports:
                listed[token] = (query, report_id)
        return listed

    def query_rows(self, include_all):
        """/queries rows by token, without the server's `id`."""
        rows = {}
        for token, (query, report_id) in self.listed_queries(include_all).items():
            report = self.reports[report_id]
            space = report["space"].value
            rows[token] = {
                "token": token, "name": query["name"].value, "raw_query": query["raw_query"].value,
                "creator_email": query["definition"].value[1],
                "data_source_token": query["data_source_token"].value,
                "report_id": report_id, "report_token": report["definition"].value[0],
                "space_id": space_id(space), "space_token": space,
                "created_at": shown(query["created_at"]), "updated_at": shown(query["updated_at"]),
            }
        return rows

    def chart_rows(self, include_all):
        """/charts rows by token, without the server's `id`, `query_id` and
        `exploration_url` (whose form the SPEC leaves to the server)."""
        queries = self.query_rows(include_all)
        rows = {}
        for token, chart in self.charts.items():
            if chart["deleted"] or chart["definition"].value is None:
                continue
            query_token, _creator = chart["definition"].value
            query = queries.get(query_token)
            if query is None:
                continue
            rows[token] = {
                "token": token, "chart_type": chart["chart_type"].value, "chart_title": chart["chart_title"].value,
                "query_token": query_token, "report_id": query["report_id"], "report_token": query["report_token"],
                "space_id": query["space_id"], "space_token": query["space_token"],
                "report_creator_email": self.reports[query["report_id"]]["definition"].value[1],
            }
        return rows

    def joined_space_rows(self, workspace: str, include_all: bool):
        """/spaces under SPEC 5's "joins never break": the listed spaces, and
        every space a listed report is in, deleted (last known name) or never
        upserted (its token as name, `custom`, no description)."""
        rows = {row["token"]: row for row in self.space_rows(workspace, include_all)}
        for _report_id, report in self.listed(include_all):
            token = report["space"].value
            if token in rows:
                continue
            definition = self.spaces.get(token, {}).get("definition")
            name, description, space_type = (
                definition.value if definition and definition.value else (token, None, "custom"))
            rows[token] = {"id": space_id(token), "token": token, "name": name, "description": description,
                           "space_type": space_type, "space_url": f"/api/{workspace}/spaces/{token}"}
        return sorted(rows.values(), key=lambda row: row["id"])

    def member_objects(self):
        """Mode's member objects, by email, without the server-derived `id`,
        `token` and `member_token`."""
        objects = []
        for row in self.member_rows():
            email = row["email"]
            activity = self.activity.get(email, {"days": set(), "last": {}})
            last_day = max(activity["days"]) if activity["days"] else None
            objects.append({
                "member_email": email, "member_username": row["username"], "name": row["name"],
                "state": "active", "activated_at": shown(self.members[email]["activated_at"]),
                "banned_at": None, "last_day_api_engaged": None,
                **{field: shown(activity["last"].get(field))
                   for fields in LAST_OF.values() for field in fields},
                "last_day_engaged": last_day and last_day.isoformat(),
                "last_day_in_app_engaged": last_day and last_day.isoformat(),
                "total_days_engaged": len(activity["days"]),
            })
        return objects
