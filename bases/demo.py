"""The demo base `make run` creates: a small CRM (clients → projects → tasks) in the built-in store."""

from __future__ import annotations

import datetime as dt
import random

from bases import records, schema_services, services
from bases.models import Base, Table
from permissions.checks import Actor

DEMO_TITLE = "Demo CRM"
CITIES = [
    "Lisbon",
    "Berlin",
    "Nairobi",
    "Osaka",
    "Toronto",
    "São Paulo",
    "Kraków",
    "Melbourne",
]
STATUSES = ["planned", "active", "on hold", "done", "cancelled"]
WORDS = [
    "Atlas",
    "Beacon",
    "Cobalt",
    "Delta",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lumen",
]


def create_demo_base(user, *, title: str = DEMO_TITLE) -> Base | None:
    """Create the demo base once; return None if it exists already. (Tests that change a
    demo base make their own copy under another title.)"""
    if Base.objects.filter(title=title, memberships__user=user).exists():
        return None
    actor = Actor(user=user)
    rng = random.Random(42)  # noqa: S311 - demo data, the same every time
    base = services.base_create(
        actor=actor, title=title, description="A small CRM to try things on."
    )
    clients = schema_services.table_create(
        actor=actor,
        base=base,
        title="clients",
        columns=[
            {"title": "name", "uidt": "SingleLineText"},
            {"title": "email", "uidt": "Email"},
            {"title": "phone", "uidt": "PhoneNumber"},
            {"title": "city", "uidt": "SingleSelect", "choices": CITIES},
            {"title": "website", "uidt": "URL"},
            {"title": "notes", "uidt": "LongText"},
        ],
    )
    projects = schema_services.table_create(
        actor=actor,
        base=base,
        title="projects",
        columns=[
            {"title": "name", "uidt": "SingleLineText"},
            {"title": "status", "uidt": "SingleSelect", "choices": STATUSES},
            {
                "title": "budget",
                "uidt": "Currency",
                "options": {"precision": 2, "currency": "EUR"},
            },
            {"title": "due date", "uidt": "Date"},
            {"title": "done", "uidt": "Checkbox"},
        ],
    )
    tasks = schema_services.table_create(
        actor=actor,
        base=base,
        title="tasks",
        columns=[
            {"title": "title", "uidt": "SingleLineText"},
            {"title": "priority", "uidt": "Rating"},
            {"title": "done", "uidt": "Checkbox"},
            {"title": "due", "uidt": "DateTime"},
        ],
    )
    schema_services.link_create(
        actor=actor,
        table=clients,
        data={"title": "projects", "relation": "hm", "related_table_id": projects.pk},
    )
    schema_services.link_create(
        actor=actor,
        table=projects,
        data={"title": "tasks", "relation": "hm", "related_table_id": tasks.pk},
    )
    projects = Table.objects.get(pk=projects.pk)
    tasks = Table.objects.get(pk=tasks.pk)

    client_rows = []
    for i in range(40):
        name = f"{rng.choice(WORDS)} {rng.choice(['Labs', 'Studio', 'Foods', 'Logistics', 'Health', 'Energy'])} {i + 1}"
        slug = name.lower().replace(" ", "-")
        client_rows.append(
            {
                "name": name,
                "email": f"hello@{slug}.example",
                "phone": f"+351 21 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                "city": rng.choice(CITIES),
                "website": f"https://{slug}.example",
                "notes": "Met at the spring fair." if i % 5 == 0 else None,
            }
        )
    records.insert_many(clients, client_rows)
    today = dt.date(2026, 11, 1)
    fk_projects = _fk_column(projects, clients)
    project_rows = []
    for i in range(120):
        status = rng.choice(STATUSES)
        project_rows.append(
            {
                "name": f"Project {rng.choice(WORDS)} {i + 1}",
                "status": status,
                "budget": f"{rng.randint(5, 500) * 100}.00",
                "due date": (
                    today + dt.timedelta(days=rng.randint(-60, 120))
                ).isoformat(),
                "done": status == "done",
                fk_projects: rng.randint(1, 40),
            }
        )
    records.insert_many(projects, project_rows)
    fk_tasks = _fk_column(tasks, projects)
    task_rows = []
    for i in range(400):
        task_rows.append(
            {
                "title": f"{rng.choice(['Draft', 'Review', 'Call', 'Ship', 'Plan', 'Fix'])} {rng.choice(['brief', 'budget', 'design', 'invoice', 'launch', 'report'])} #{i + 1}",
                "priority": rng.randint(1, 5),
                "done": rng.random() < 0.4,
                "due": dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
                .replace(day=rng.randint(1, 28))
                .isoformat(),
                fk_tasks: rng.randint(1, 120),
            }
        )
    records.insert_many(tasks, task_rows)
    return base


def _fk_column(child: Table, parent: Table) -> str:
    link = next(
        f
        for f in child.fields.filter(uidt="LinkToAnotherRecord")
        if f.related_table_id == parent.pk and f.options.get("relation") == "bt"
    )
    return link.options["fk_column"]
