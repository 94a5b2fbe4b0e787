"""Pairs of plans from real program changes: each yields the classification Pulumi would plan."""

from __future__ import annotations

from diff_plans import base_plan_fixture, edited_plan_fixture  # noqa: F401 - fixtures

from tools.offline import diff

APP = "components/app.py"
BACKUPS = "components/backups.py"
POSTGRES = "components/postgres.py"
CONFIG = "config.py"


def changes(base: dict, head: dict) -> dict[str, diff.Change]:
    """``{"<action> <name>": change}`` of one stack diff."""
    return {f"{c.action} {c.name}": c for c in diff.diff_stack(base, head).changes}


def test_profile_value_is_an_update(base_plan, edited_plan):
    head = edited_plan("staging", (CONFIG, "app=AppProfile(replicas=2, max_replicas=4),", "app=AppProfile(replicas=3, max_replicas=4),"))
    got = diff.diff_stack(base_plan("staging"), head)
    # The autoscaled Deployment ignores spec.replicas (components/app.py): the HPA's floor moves it.
    assert [f"{c.action} {c.name}" for c in got.changes] == [
        "update app-blue-pdb", "update app-autoscaler-hpa"], got.changes
    assert [(p.path, p.old, p.new) for p in got.changes[1].properties] == [("spec.minReplicas", 2, 3)], got.changes
    assert not got.blocking


def test_renamed_child_is_delete_and_create_and_blocks(base_plan, edited_plan):
    head = edited_plan("staging", (BACKUPS, 'f"{name}-bucket",', 'f"{name}-store",'))
    got = changes(base_plan("staging"), head)
    assert "delete backups-bucket" in got and "create backups-store" in got, sorted(got)
    assert "every object" in got["delete backups-bucket"].blocking
    assert "recreated as" in got["delete backups-bucket"].reasons[0]


def test_rename_with_alias_is_no_replacement(base_plan, edited_plan):
    head = edited_plan("staging", (BACKUPS, 'f"{name}-bucket",', 'f"{name}-store",'),
                       (BACKUPS, "protect=args.protect, retain_on_delete=",
                        'aliases=[pulumi.Alias(name=f"{name}-bucket")], protect=args.protect, retain_on_delete='))
    got = diff.diff_stack(base_plan("staging"), head)
    renamed = [c for c in got.changes if c.name == "backups-store"]
    assert [(c.action, diff.urns.name_of(c.renamed_from)) for c in renamed] == [("update", "backups-bucket")]
    assert not got.blocking and got.count("delete") == 0 and got.count("create") == 0, got.changes


def test_rds_engine_version_is_an_update(base_plan, edited_plan):
    head = edited_plan("staging", (POSTGRES, 'MAJOR_VERSION = "18"', 'MAJOR_VERSION = "19"'))
    got = changes(base_plan("staging"), head)
    assert got["update postgres-db"].properties[0].path == "engineVersion", got["update postgres-db"]
    assert not got["update postgres-db"].blocking


def test_rds_identifier_is_renamed_in_place(base_plan, edited_plan):
    # terraform-provider-aws v5.0.0 (#31232): identifier is updated in place, not ForceNew any more.
    head = edited_plan("staging", (POSTGRES, 'identifier = f"{args.prefix}-postgres"',
                                   'identifier = f"{args.prefix}-pg"'))
    got = changes(base_plan("staging"), head)
    assert "update postgres-db" in got and "replace postgres-db" not in got, sorted(got)


def test_rds_database_name_replaces_and_blocks(base_plan, edited_plan):
    head = edited_plan("production", (POSTGRES, "db_name=args.database,", 'db_name="appdb",'))
    got = changes(base_plan("production"), head)
    db = got["replace postgres-db"]
    assert db.reasons == ["dbName changed"] and "database" in db.blocking and "protected" in db.blocking, db


def test_deployment_selector_replaces(base_plan, edited_plan):
    head = edited_plan("staging", (APP, '"selector": {"matchLabels": dict(pods)},',
                                   '"selector": {"matchLabels": {**pods, "tier": "web"}},'))
    got = changes(base_plan("staging"), head)
    for track in ("blue", "green"):
        replaced = got[f"replace app-{track}-deployment"]
        assert replaced.reasons == ['spec.selector.matchLabels.tier changed'], sorted(got)
        assert not replaced.blocking


def test_move_between_components_without_alias_recreates(base_plan, edited_plan):
    head = edited_plan("staging", ("__main__.py", "postgres=postgres.connection))",
                                   "postgres=postgres.connection),"
                                   " opts=pulumi.ResourceOptions(parent=kms))"))
    got = diff.diff_stack(base_plan("staging"), head)
    assert {c.name for c in got.blocking} == {"backups-bucket"}, got.blocking
    assert got.count("delete") == got.count("create") > 5


def test_move_between_components_with_alias_keeps_everything(base_plan, edited_plan):
    head = edited_plan("staging", ("__main__.py", "postgres=postgres.connection))",
                                   "postgres=postgres.connection),"
                                   " opts=pulumi.ResourceOptions(parent=kms, aliases=[pulumi.Alias(parent=None)]))"))
    got = diff.diff_stack(base_plan("staging"), head)
    assert not got.blocking and got.count("delete") == got.count("create") == 0, got.changes
    assert all(c.renamed_from for c in got.changes) and len(got.changes) > 5, got.changes


def test_ecr_lifecycle_rule_change_replaces_the_policy_not_the_repository(base_plan, edited_plan):
    # terraform-provider-aws ecr/lifecycle_policy.go has no Update: `policy` is ForceNew.
    head = edited_plan("staging", ("components/registry.py", '"rulePriority": 2,', '"rulePriority": 3,'))
    got = diff.diff_stack(base_plan("staging"), head)
    replaced = {c.name for c in got.changes if c.action == "replace"}
    assert replaced and all(n.endswith("-lifecycle") for n in replaced), [(c.action, c.name) for c in got.changes]
    assert not got.blocking, "a lifecycle policy holds no data"
