-- Usage over time (SPEC section 8): each report's views and runs per UTC
-- date (days since the Unix epoch), and who viewed it on which date (the
-- viewer by the id derived from the email, as a member's: see
-- src/storage/schema.rs).
CREATE TABLE report_days (
    workspace_id   BIGINT NOT NULL,
    report_id      BIGINT NOT NULL,
    day            BIGINT NOT NULL,
    views          BIGINT NOT NULL,
    manual_runs    BIGINT NOT NULL,
    scheduled_runs BIGINT NOT NULL,
    failed_runs    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, report_id, day)
);

CREATE TABLE report_viewer_days (
    workspace_id BIGINT NOT NULL,
    report_id    BIGINT NOT NULL,
    day          BIGINT NOT NULL,
    viewer_id    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, report_id, day, viewer_id)
);

-- Whether a workspace's usage tables hold every event of its log. A
-- workspace made from now on starts with them full (empty, like its log);
-- the server fills those of existing workspaces from their logs when it
-- opens the database (src/storage/usage_fill.rs), each in one transaction.
ALTER TABLE workspaces ADD COLUMN usage_filled BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE workspaces SET usage_filled = FALSE;
