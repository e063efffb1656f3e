"""The vendored front-end files are the published ones: each digest in static/vendor/README.md
matches the file it names, every vendored file is listed, and the app serves them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import redcard

VENDOR = Path(redcard.__file__).parent / "web" / "static" / "vendor"


def listed() -> dict[str, str]:
    rows = re.findall(
        r"`([\w./-]+\.(?:js|css))` \| `([0-9a-f]{64})`", (VENDOR / "README.md").read_text()
    )
    return dict(rows)


def test_every_vendored_script_and_stylesheet_is_the_published_one():
    digests = listed()
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.suffix in (".js", ".css")}
    assert set(digests) == on_disk
    for name, digest in digests.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert (VENDOR / "leaflet-1.9.4" / "LICENSE").read_text().startswith("BSD 2-Clause")


async def test_the_map_library_is_served_by_the_app_itself(client):
    script = await client.get("/static/vendor/leaflet-1.9.4/leaflet.js")
    assert script.status_code == 200
    assert "Leaflet 1.9.4" in script.text[:300]
    marker = await client.get("/static/vendor/leaflet-1.9.4/images/marker-icon.png")
    assert marker.status_code == 200
    assert marker.content[:4] == b"\x89PNG"
