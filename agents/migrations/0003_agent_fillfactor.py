"""Room on each page of the agents table for heartbeats to update in place.

A heartbeat changes only an unindexed column, which PostgreSQL can write as
a heap-only tuple on the same page, touching no index, as long as the page
has room; rows filled to 80% leave it. Other databases have no such knob.
"""

from django.db import migrations

FILL_PERCENT = 80


def _fillfactor_set(percent):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        agent = apps.get_model("agents", "Agent")
        table = schema_editor.quote_name(agent._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")

    return run


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_client_membership")]

    operations = [
        migrations.RunPython(_fillfactor_set(FILL_PERCENT), _fillfactor_set(100)),
    ]
