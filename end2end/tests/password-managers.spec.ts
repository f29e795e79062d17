import { Page, expect, test } from "@playwright/test";
import { ProfilePage, SignupPage, hydrated, uniqueUser } from "./fixtures/pages";

/** Chromium's own advice about the page's forms ("[DOM] Password forms should have ..."). */
async function domAdvice(page: Page): Promise<string[]> {
  const advice: string[] = [];
  const cdp = await page.context().newCDPSession(page);
  cdp.on("Log.entryAdded", ({ entry }) => {
    if (entry.text.startsWith("[DOM]")) advice.push(`${entry.url ?? ""}: ${entry.text}`);
  });
  await cdp.send("Log.enable");
  return advice;
}

test("password managers get a username in every password form, and Chromium has no advice", async ({ page }) => {
  const advice = await domAdvice(page);
  // The check itself: a password form without a username field draws Chromium's advice.
  await page.goto("/login");
  await page.evaluate(() => {
    const form = document.createElement("form");
    form.innerHTML = '<input type="password" autocomplete="current-password">';
    document.body.append(form);
  });
  await expect.poll(() => advice.length).toBeGreaterThan(0);
  advice.length = 0;

  for (const path of ["/login", "/signup"]) {
    await page.goto(path);
    await hydrated(page);
  }
  const signup = new SignupPage(page);
  await signup.goto();
  await signup.signUp(uniqueUser("pm"));
  await expect(new ProfilePage(page).heading).toBeVisible();
  await hydrated(page);
  await expect(page.locator('input[type="password"]')).toHaveCount(6); // email change, password change (two), authenticator set-up, adding a passkey, deletion
  for (const form of await page.locator("form:has(input[type=password])").all()) {
    await expect(form.locator('input[autocomplete="username"]')).toHaveCount(1);
  }
  await page.reload();
  await hydrated(page);
  expect(advice).toEqual([]);
});
