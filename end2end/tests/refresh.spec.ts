import { expect, test } from "@playwright/test";
import { shortLivedURL } from "../playwright.config";
import { ProfilePage, SignupPage, accessCookieExpired, hydrated, sessionCookies, uniqueUser } from "./fixtures/pages";

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

test("the page refreshes the session shortly before the access token expires, rotating the cookies", async ({ page, context }) => {
  const signup = new SignupPage(page);
  await signup.goto();
  await signup.signUp(uniqueUser("keeper"));
  await expect(page).toHaveURL(/\/profile$/);
  const before = await sessionCookies(context);
  const request = await page.waitForRequest((r) => r.url().endsWith("/fn/refresh"));
  const sentAt = Date.now() / 1000;
  expect((await request.response())?.status()).toBe(200);
  // Before the access token it replaces ran out, but not long before (a fifth of its life).
  expect(sentAt).toBeLessThan(before.accessExpiresAt);
  expect(sentAt).toBeGreaterThan(before.accessExpiresAt - 1.5);
  // The browser stores the rotated pair from that answer's Set-Cookie headers.
  await expect.poll(async () => (await sessionCookies(context)).refresh).not.toBe(before.refresh);
  expect((await sessionCookies(context)).access).not.toBe(before.access);
});

test("typing into the profile form goes on undisturbed across several refreshes, and saves", async ({ page }) => {
  const signup = new SignupPage(page);
  const profile = new ProfilePage(page);
  await signup.goto();
  await signup.signUp(uniqueUser("typing"));
  await expect(page).toHaveURL(/\/profile$/);
  await hydrated(page);
  const refreshes: number[] = [];
  page.on("response", (r) => {
    if (r.url().endsWith("/fn/refresh")) refreshes.push(r.status());
  });
  // A keystroke, then a refresh, then the text checked; four times over.
  for (const [keys, text] of [["Ad", "Ad"], ["a", "Ada"], [" L", "Ada L"], ["o", "Ada Lo"]]) {
    const seen = refreshes.length;
    await profile.type("First name", keys);
    await expect.poll(() => refreshes.length, { timeout: 10_000 }).toBeGreaterThan(seen);
    await expect(profile.field("First name")).toHaveValue(text);
  }
  expect(refreshes.every((status) => status === 200)).toBe(true);
  await profile.save();
  await expect(page.getByText("Profile saved.")).toBeVisible();
  await page.reload();
  await expect(profile.field("First name")).toHaveValue("Ada Lo");
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
