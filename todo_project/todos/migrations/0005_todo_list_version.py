"""The per-owner list stamp (TodoListVersion) and the triggers that renew it on every write of todos_todo."""

from django.db import migrations, models

POSTGRESQL_FUNCTION = """
CREATE FUNCTION todos_todo_list_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO todos_todolistversion (owner_id, stamp)
        SELECT owner_id, gen_random_uuid()::text FROM (SELECT DISTINCT owner_id FROM new_rows) AS changed
        ON CONFLICT (owner_id) DO UPDATE SET stamp = EXCLUDED.stamp;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO todos_todolistversion (owner_id, stamp)
        SELECT owner_id, gen_random_uuid()::text
        FROM (SELECT owner_id FROM old_rows UNION SELECT owner_id FROM new_rows) AS changed
        ON CONFLICT (owner_id) DO UPDATE SET stamp = EXCLUDED.stamp;
    ELSE
        INSERT INTO todos_todolistversion (owner_id, stamp)
        SELECT owner_id, gen_random_uuid()::text FROM (SELECT DISTINCT owner_id FROM old_rows) AS changed
        ON CONFLICT (owner_id) DO UPDATE SET stamp = EXCLUDED.stamp;
    END IF;
    RETURN NULL;
END
$$;
"""
# Statement-level, with transition tables: a bulk delete of a thousand todos renews each owner's stamp once.
POSTGRESQL_TRIGGERS = [
    "CREATE TRIGGER todos_todo_list_changed_insert AFTER INSERT ON todos_todo "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION todos_todo_list_changed()",
    "CREATE TRIGGER todos_todo_list_changed_update AFTER UPDATE ON todos_todo "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION todos_todo_list_changed()",
    "CREATE TRIGGER todos_todo_list_changed_delete AFTER DELETE ON todos_todo "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION todos_todo_list_changed()",
]
POSTGRESQL_DROP = [
    *(f"DROP TRIGGER IF EXISTS todos_todo_list_changed_{event} ON todos_todo" for event in ("insert", "update", "delete")),
    "DROP FUNCTION IF EXISTS todos_todo_list_changed()",
]

SQLITE_RENEW = (
    "INSERT INTO todos_todolistversion (owner_id, stamp) VALUES ({row}.owner_id, lower(hex(randomblob(16)))) "
    "ON CONFLICT (owner_id) DO UPDATE SET stamp = excluded.stamp;"
)
SQLITE_TRIGGERS = [
    "CREATE TRIGGER todos_todo_list_changed_insert AFTER INSERT ON todos_todo BEGIN "
    + SQLITE_RENEW.format(row="NEW")
    + " END",
    "CREATE TRIGGER todos_todo_list_changed_update AFTER UPDATE ON todos_todo BEGIN "
    + SQLITE_RENEW.format(row="OLD")
    + " "
    + SQLITE_RENEW.format(row="NEW")
    + " END",
    "CREATE TRIGGER todos_todo_list_changed_delete AFTER DELETE ON todos_todo BEGIN "
    + SQLITE_RENEW.format(row="OLD")
    + " END",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS todos_todo_list_changed_{event}" for event in ("insert", "update", "delete")]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        statements = [POSTGRESQL_FUNCTION, *POSTGRESQL_TRIGGERS]
    else:
        statements = SQLITE_TRIGGERS
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    for statement in POSTGRESQL_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("todos", "0004_create_cache_table")]

    operations = [
        migrations.CreateModel(
            name="TodoListVersion",
            fields=[
                ("owner_id", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("stamp", models.CharField(max_length=36)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
