import { expect, test } from "@playwright/test";
import { shortLivedURL } from "../playwright.config";
import { ProfilePage, SignupPage, accessCookieExpired, uniqueUser } from "./fixtures/pages";

// This server issues access tokens that live two seconds.
test.use({ baseURL: shortLivedURL });

test("after the access token expires, reloading and saving both work with no new log-in", async ({ page, context }) => {
  // Keep the page from refreshing ahead of expiry, so the token really runs out.
  await page.route("**/fn/refresh", (route) => route.abort());
  const profile = new ProfilePage(page);
  await new SignupPage(page).goto();
  await new SignupPage(page).signUp(uniqueUser("expiry"));
  await expect(page).toHaveURL(/\/profile$/);

  await accessCookieExpired(context);
  await page.reload();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(profile.heading).toBeVisible();

  await accessCookieExpired(context);
  await profile.edit({ "First name": "Grace" });
  await expect(page.getByText("Profile saved.")).toBeVisible();
  await expect(page).toHaveURL(/\/profile$/);
});

test("the page refreshes the session shortly before the access token expires", async ({ page }) => {
  await new SignupPage(page).goto();
  const refreshed = page.waitForResponse((r) => r.url().endsWith("/fn/refresh"));
  await new SignupPage(page).signUp(uniqueUser("keeper"));
  expect((await refreshed).status()).toBe(200);
  await expect(page).toHaveURL(/\/profile$/);
});

test("two tabs whose access tokens expire together both keep working, and nobody is logged out", async ({ context }) => {
  const first = await context.newPage();
  await new SignupPage(first).goto();
  await new SignupPage(first).signUp(uniqueUser("tabs"));
  await expect(first).toHaveURL(/\/profile$/);
  const second = await context.newPage();
  await second.goto("/profile");
  await expect(new ProfilePage(second).heading).toBeVisible();

  // Both tabs share the cookies, so their tokens expire together; watch every refresh.
  const refreshes: number[] = [];
  for (const page of [first, second]) {
    page.on("response", (r) => {
      if (r.url().endsWith("/fn/refresh")) refreshes.push(r.status());
    });
  }
  await expect.poll(() => refreshes.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(4);
  expect(refreshes.every((status) => status === 200)).toBe(true);

  for (const [page, name] of [[first, "One"], [second, "Two"]] as const) {
    await expect(page).toHaveURL(/\/profile$/);
    await new ProfilePage(page).edit({ "First name": name });
    await expect(page.getByText("Profile saved.")).toBeVisible();
  }
});
