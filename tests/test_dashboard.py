"""`/dashboard` in headless Chromium (Debian's `chromium`, installed by the Makefile, driven by Playwright):
the page loads with no request to any other host and no console error (the CSP holds), shows the
readiness table as the graph answers it, and updates live over SSE when time is logged and approved in
the Harvest simulator (the demo's anonymous `viewer` caller, like GraphiQL)."""

from __future__ import annotations

import asyncio
import os
import shutil
from decimal import Decimal

import pytest
from events_support import engagement_id, events_gateway
from playwright.async_api import async_playwright, expect
from test_events_readiness import OCTOBER, WATCHED
from test_gateway_support import HV

from simulators.simkit.serve import SimulatorGroup
from simulators.world import World


def chromium_or_skip() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "chromium is not installed (make installs it with apt-get when run as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def amount_text(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}"


async def test_the_dashboard_shows_readiness_and_updates_live(
    simulators: SimulatorGroup, world: World
) -> None:
    chromium = chromium_or_skip()
    async with events_gateway(simulators, world, changes=(HV,)) as gw, async_playwright() as pw:
        await gw.events.poll_once()  # marks and baseline
        graph = await gw.query("{ invoiceReadiness { ready engagement { code } } }", {})
        codes = {r["engagement"]["code"] for r in graph["data"]["invoiceReadiness"]}
        before = await gw.readiness(WATCHED)
        browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            requested: list[str] = []
            problems: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            subscribers = gw.events.bus.subscribers
            await page.goto(gw.url + "/dashboard")
            await expect(page.locator("body")).to_have_attribute("data-loaded", "true")
            rows = page.locator("#readiness tbody tr")
            await expect(rows).to_have_count(len(codes))
            row = page.locator(f'tr[data-engagement="{WATCHED}"]')
            await expect(row.locator(".ready")).to_have_text("ready")
            await expect(page.locator("#status")).to_have_text("live")
            async with asyncio.timeout(10):
                await gw.events.bus.until_subscribers(subscribers + 2)  # readiness and workflows

            entry = await gw.log_time(WATCHED, OCTOBER, 8.0)
            await gw.events.poll_once()
            await expect(row.locator(".ready")).to_have_text("not ready")
            await expect(row.locator(".blockers")).to_contain_text("UNAPPROVED_TIME")

            assert await gw.approve(ids=[int(entry.id)]) == 1
            await gw.events.poll_once()
            await expect(row.locator(".ready")).to_have_text("ready")
            rate = entry.bill_rate
            assert rate is not None
            expected = Decimal(before["amount"]["amount"]) + rate * 8
            currency = (
                await gw.query(
                    "query R($ids: [ID!]) { invoiceReadiness(engagementIds: $ids) { amount { currency } } }",
                    {"ids": [engagement_id(WATCHED)]},
                )
            )["data"]["invoiceReadiness"][0]["amount"]["currency"]
            await expect(row.locator(".amount")).to_have_text(amount_text(expected, currency))

            origin = gw.url + "/"
            assert requested and all(url.startswith(origin) for url in requested), requested
            assert problems == []
        finally:
            await browser.close()
