import { expect, test } from "@playwright/test";
import { ProfilePage, SignupPage, accessibleAndFits, hydrated, uniqueUser } from "./fixtures/pages";

// Every page as a phone shows it: 375 px wide.
test.use({ viewport: { width: 375, height: 740 } });

test("the signed-out pages pass axe-core and fit a 375 px phone", async ({ page }) => {
  const deadLinks = ["/verify-email?key=no-such-key", "/reset-password?uid=MQ&token=no-such-token"];
  for (const path of ["/", "/signup", "/login", "/forgot-password", ...deadLinks, "/no/such/page"]) {
    await page.goto(path);
    await accessibleAndFits(page);
  }
});

test("the profile, sessions, activity and a form showing its errors pass axe-core and fit a 375 px phone", async ({ page }) => {
  const signup = new SignupPage(page);
  await signup.goto();
  await hydrated(page);
  await signup.signUp({ username: "bad name", email: "not-an-email", password: "12345678" });
  await expect(signup.field("Email")).toHaveAttribute("aria-invalid", "true");
  await accessibleAndFits(page);

  await signup.signUp(uniqueUser("axe"));
  await expect(new ProfilePage(page).heading).toBeVisible();
  await accessibleAndFits(page);
  for (const path of ["/sessions", "/activity"]) {
    await page.goto(path);
    await accessibleAndFits(page);
  }
});
