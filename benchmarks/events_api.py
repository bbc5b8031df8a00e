"""The events API, native mode: a bulk POST against single POSTs, and ingest -> projection latency.

1. Bulk against singles, in the same run: `--events` events (one new car each) posted one by one,
   then as many in one POST /api/v1/events/bulk; each way `--rounds` times, the median round
   compared (target: bulk >= 10x faster), and the time until every car of a round is projected.
2. Ingest -> projection: single events posted one by one, each after the previous one's car was
   projected (an idle pipeline, as in a lab); the time from the client's submit to the row's
   `projected_at` in Postgres (one clock). Reports p50/p95.
Saves benchmarks/results/events_api.json.
Usage: .lab/venv/bin/python benchmarks/events_api.py [--events 100] [--rounds 3] [--latency 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the benchmarks package
import labtools
from benchmarks import benchlib

CAR_PREFIX = "CAR-BENCH-"


def car_event(car: str) -> dict[str, Any]:
    stamp = datetime.now(UTC).isoformat()
    header = {"entityId": car, "entityType": "Car", "createdAt": stamp, "updatedAt": stamp}
    return {
        "eventHeader": {
            "uuid": str(uuid.uuid4()),
            "eventName": "Car Created",
            "eventType": "CarCreated",
            "createdDate": stamp,
            "savedDate": stamp,
        },
        "entities": [
            {
                "entityHeader": header,
                "id": car,
                "vin": "5TDJKRFH4LS123456",
                "make": "Tesla",
                "model": "Model S",
                "year": 2025,
                "color": "Midnight Silver",
                "mileage": 0,
                "totalBalance": 0,
                "owner": "Bench",
            }
        ],
    }


def new_cars(count: int) -> list[str]:
    return [f"{CAR_PREFIX}{uuid.uuid4().hex[:12]}" for _ in range(count)]


def wait_projected(db: psycopg.Connection[Any], cars: list[str], timeout: float) -> float:
    """Seconds until every car is in car_entities (polled every 5 ms)."""
    started = time.monotonic()
    while True:
        row = db.execute("SELECT count(*) FROM car_entities WHERE entity_id = ANY(%s)", (cars,)).fetchone()
        if row and row[0] == len(cars):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            sys.exit(f"bench: {len(cars) - (row[0] if row else 0)} cars not projected after {timeout:.0f} s")
        time.sleep(0.005)


def post(session: requests.Session, url: str, body: dict[str, Any], expected: int) -> requests.Response:
    response = session.post(url, json=body, timeout=30)
    if response.status_code != expected:
        sys.exit(f"bench: POST {url} answered {response.status_code}: {response.text[:300]}")
    return response


def bulk_against_singles(
    session: requests.Session, db: psycopg.Connection[Any], url: str, events: int, rounds: int
) -> dict[str, Any]:
    singles_s: list[float] = []
    bulk_s: list[float] = []
    singles_projected_s: list[float] = []
    bulk_projected_s: list[float] = []
    post(session, url, car_event(new_cars(1)[0]), 201)  # warm the function
    for _ in range(rounds):
        cars = new_cars(events)
        with benchlib.Stopwatch() as clock:
            for car in cars:
                post(session, url, car_event(car), 201)
        singles_s.append(clock.seconds)
        singles_projected_s.append(clock.seconds + wait_projected(db, cars, 120))

        cars = new_cars(events)
        with benchlib.Stopwatch() as clock:
            response = post(session, f"{url}/bulk", {"events": [car_event(car) for car in cars]}, 200)
        if response.json()["summary"]["created"] != events:
            sys.exit(f"bench: bulk created {response.json()['summary']}, not {events}")
        bulk_s.append(clock.seconds)
        bulk_projected_s.append(clock.seconds + wait_projected(db, cars, 120))
    singles, bulk = statistics.median(singles_s), statistics.median(bulk_s)
    return {
        "events": events,
        "rounds": rounds,
        "singles_ms": round(singles * 1000, 1),
        "bulk_ms": round(bulk * 1000, 1),
        "speedup": round(singles / bulk, 1),
        "singles_until_projected_ms": round(statistics.median(singles_projected_s) * 1000, 1),
        "bulk_until_projected_ms": round(statistics.median(bulk_projected_s) * 1000, 1),
        "target_speedup": 10,
    }


def ingest_to_projection(
    session: requests.Session, db: psycopg.Connection[Any], url: str, count: int
) -> dict[str, Any]:
    post_ms: list[float] = []
    projected_ms: list[float] = []
    for i in range(count + 5):  # the first five warm the API, dispatcher and projector
        car = new_cars(1)[0]
        submitted = time.time()
        with benchlib.Stopwatch() as clock:
            post(session, url, car_event(car), 201)
        wait_projected(db, [car], 30)
        row = db.execute(
            "SELECT extract(epoch FROM projected_at) FROM car_entities WHERE entity_id = %s", (car,)
        ).fetchone()
        assert row is not None
        if i >= 5:
            post_ms.append(clock.ms)
            projected_ms.append((float(row[0]) - submitted) * 1000)
    return {
        "post_ms": benchlib.quantiles(post_ms),
        "submit_to_projected_ms": benchlib.quantiles(projected_ms),
    }


def delete_bench_cars(db: psycopg.Connection[Any]) -> None:
    pattern = f"{CAR_PREFIX}%"
    db.execute(
        "DELETE FROM car_events WHERE event_id IN"
        " (SELECT event_id FROM car_event_entities WHERE entity_id LIKE %s)",
        (pattern,),
    )
    db.execute("DELETE FROM car_entities WHERE entity_id LIKE %s", (pattern,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=int, default=100, help="single events for the latency figure")
    args = parser.parse_args()
    url = str(labtools.outputs()["events_url"])
    session = requests.Session()
    with psycopg.connect(**labtools.admin_conninfo(), autocommit=True) as db:
        try:
            figures = {
                "bulk_vs_single": bulk_against_singles(session, db, url, args.events, args.rounds),
                "ingest_to_projection": ingest_to_projection(session, db, url, args.latency),
            }
        finally:
            delete_bench_cars(db)
    print(benchlib.write_results("events_api", figures).read_text(), end="")


if __name__ == "__main__":
    main()
