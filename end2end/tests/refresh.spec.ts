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
