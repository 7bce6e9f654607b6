#!/usr/bin/env python3
"""Drives the hotline web pages with a real headless Chromium (selenium + chromium-driver).

Usage: hotline_browser.py BASE_URL NAME PASSWORD [SCREENSHOT_DIR]
Signs in, filters the log, opens a report, acknowledges it, looks at the statistics' charts, signs out, and checks
that a POST without the CSRF token is refused. Exits non-zero with a message on the first failure. Screenshots go to SCREENSHOT_DIR when given.
"""
import sys, os, urllib.request, urllib.error, http.cookiejar
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from selenium.webdriver.support import expected_conditions as EC

base, name, password = sys.argv[1], sys.argv[2], sys.argv[3]
shots = sys.argv[4] if len(sys.argv) > 4 and not sys.argv[4].startswith("--") else None

def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)

options = Options()
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=vi"]:
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)

def shot(label):
    if shots:
        os.makedirs(shots, exist_ok=True)
        driver.save_screenshot(os.path.join(shots, label + ".png"))

try:
    driver.get(base + "/")
    check("/login" in driver.current_url, "an unsigned visitor is sent to the sign-in page, not " + driver.current_url)
    shot("login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys("wrong password")
    driver.find_element(By.ID, "signin").click()
    WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "error")))
    check("Wrong name or password" in driver.page_source, "a wrong password is refused with a clear message")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "signin").click()
    try:
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "reports")))
    except Exception:
        pass
    check(driver.find_elements(By.ID, "reports"), "signed in, the log is shown: " + driver.current_url + " " + driver.page_source[:1500])
    rows = driver.find_elements(By.CSS_SELECTOR, "#reports tbody tr[data-number]")
    check(len(rows) >= 2, "the log lists the reports (%d rows)" % len(rows))
    check(rows[0].get_attribute("class") in ("urgent", "callnow"), "urgent cases come first: %r" % rows[0].get_attribute("outerHTML")[:300])
    shot("log")

    Select(driver.find_element(By.ID, "kind")).select_by_value("alert")
    driver.find_element(By.ID, "apply").click()
    WebDriverWait(driver, 15).until(EC.url_contains("kind=alert"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#reports tbody tr[data-number]")
    check(len(rows) == 1, "the kind filter leaves the alert only (%d rows)" % len(rows))
    number = rows[0].get_attribute("data-number")

    rows[0].find_element(By.TAG_NAME, "a").click()
    WebDriverWait(driver, 15).until(EC.url_contains("/reports/" + number))
    check(driver.find_element(By.ID, "title").text.startswith("Báo cáo / Report " + number), "the report page opens")
    check(driver.find_element(By.ID, "text").text.strip() != "", "the raw text is shown")
    shot("report")
    driver.find_element(By.ID, "acknowledge").click()
    WebDriverWait(driver, 15).until(EC.url_contains("done="))
    check(driver.find_element(By.ID, "status").text == "acknowledged", "acknowledged from the page")
    check(driver.find_element(By.ID, "assigned").text == name, "assigned to the staff member")
    check(name in driver.find_element(By.ID, "timeline").text, "the timeline names who acknowledged")

    if "--phone" in sys.argv:
        driver.get(base + "/phone")
        driver.find_element(By.ID, "message").send_keys("TRE Mai 13t nu xa Meo Vac di Bac Ninh")
        driver.find_element(By.ID, "send").click()
        WebDriverWait(driver, 15).until(EC.url_contains("from="))
        check("Da nhan bao cao so" in driver.find_element(By.ID, "sent").text, "the phone simulator shows the gateway's reply")
        shot("phone")

    driver.get(base + "/duty")
    check(driver.find_elements(By.ID, "duty"), "the duty page shows")
    shot("duty")

    # The statistics of this month: bar charts drawn as inline SVG by the server, laid out by the browser.
    driver.find_element(By.LINK_TEXT, "Thống kê / Statistics").click()
    WebDriverWait(driver, 15).until(EC.url_contains("/statistics"))
    check(driver.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar"), "the statistics page draws its charts")
    widths = [float(bar.get_attribute("width") or 0) for bar in driver.find_elements(By.CSS_SELECTOR, "#kind svg.chart rect.bar")]
    check(any(width > 0 for width in widths), "the kind chart has bars with a length: %r" % widths)
    check(driver.find_element(By.CSS_SELECTOR, "#kind svg.chart").size["height"] > 0, "the chart is laid out")
    check(driver.find_element(By.CSS_SELECTOR, '#kind td[data-value="tip"]').text == "2", "the table beside the chart counts the two tips")
    shot("statistics")

    # A POST without the CSRF token, with the session cookie of the signed-in browser, is refused.
    cookie = driver.get_cookie("tipline_session")
    check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", "session cookie is HttpOnly and SameSite=Strict: %r" % cookie)
    request = urllib.request.Request(base + "/reports/%s/close" % number, data=b"result=forged", method="POST",
                                     headers={"Cookie": "tipline_session=" + cookie["value"], "Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(request)
        check(False, "a CSRF-less POST must be refused")
    except urllib.error.HTTPError as error:
        check(error.code == 403, "a CSRF-less POST is refused with 403, not %d" % error.code)

    driver.get(base + "/reports/" + number)
    check(driver.find_element(By.ID, "status").text == "acknowledged", "the forged close did nothing")
    driver.find_element(By.ID, "signout").click()
    WebDriverWait(driver, 15).until(EC.url_contains("/login"))
    check("/login" in driver.current_url, "signed out")
    driver.get(base + "/")
    check("/login" in driver.current_url, "after sign-out the log needs a sign-in again")
    print("OK: browser checks passed")
finally:
    driver.quit()
