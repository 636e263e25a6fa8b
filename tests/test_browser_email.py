"""The e-mail digest's HTML in a real browser (issue 32): axe-core finds no serious or critical
WCAG 2.2 AA problem, and a reader finds its headings, its scope and a link to each view."""
import shutil

from stls.store import releases as rel
from stls.store.releases import Releases
from stls.store.subscriptions import Subscription
from tests.test_browser import AXE, BROWSER_ARGS, CHROMIUM, axe_violations


def test_the_digest_html_passes_axe(demo_path, tmp_path):
    from playwright.sync_api import sync_playwright

    from stls.present import digest
    db = tmp_path / "stls.duckdb"
    shutil.copyfile(demo_path, db)
    Releases(db).start_over("demo build", "the synthetic demo")
    month = tmp_path / "november.csv"
    month.write_text("date,district,service,activity_type,need_area,phase,setting_urn,count\n" + "".join(
        f"2026-11-0{day},Swale,,referral,CI,primary,,4\n" for day in (1, 2, 3)))
    report, release = rel.load(month, "activity", db, by="cron", note="November")
    assert report.status == "loaded" and AXE.exists()
    r = Releases(db)
    sub = Subscription("head.of.sen@kent.gov.uk", ("E07000113",), (), False, "test", 0.0)
    made = digest.build(sub, r.open(2), release, "https://stls.example.gov.uk", r.open(1), 1)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 1400})
        page.set_content(made.html)
        ours, theirs = axe_violations(page)
        assert ours == [] and theirs == [], (ours, theirs)
        assert page.locator("html").get_attribute("lang") == "en-GB"
        assert page.locator("h1").count() == 1 and "Swale" in page.locator("h1, h2, p").first.inner_text() + made.subject
        links = page.locator("a[href^='https://stls.example.gov.uk/']")
        assert links.count() >= 1 and all("release=2" in (links.nth(i).get_attribute("href") or "")
                                          for i in range(links.count()))
        browser.close()
