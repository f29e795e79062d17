import { expect, test } from "@playwright/test";
import { LoginPage, ProfilePage, SignupPage, accessibleAndFits, hydrated, uniqueUser } from "./fixtures/pages";
import { stepNow, totp } from "./fixtures/totp";

test.use({ viewport: { width: 375, height: 740 } });

test("an authenticator app: set up from the page, log in with a code and with a recovery code, turn it off", async ({ page }) => {
  const user = uniqueUser("totp");
  await new SignupPage(page).goto();
  await new SignupPage(page).signUp(user);
  await expect(page).toHaveURL(/\/profile$/);
  await hydrated(page);
  const profile = new ProfilePage(page);

  await profile.field("Password to set up the app").fill(user.password);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const secret = (await page.getByTestId("totp-secret").textContent()) ?? "";
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await expect(page.getByRole("img", { name: "QR code holding your authenticator key" })).toBeVisible();
  await accessibleAndFits(page);
  const confirmedAt = stepNow();
  await profile.field("Code from the app").fill(totp(secret, confirmedAt));
  await page.getByRole("button", { name: "Turn on" }).click();
  const codes = page.getByTestId("recovery-codes").getByRole("listitem");
  await expect(codes).toHaveCount(10);
  const recovery = await codes.allTextContents();
  await expect(page.getByTestId("codes-left")).toHaveText("10");
  await accessibleAndFits(page);

  await profile.logOut();
  await expect(page).toHaveURL(/\/login$/);
  await new LoginPage(page).logIn(user.username, user.password);
  await expect(page).toHaveURL(/\/login\/code\?next=%2Fprofile$/);
  await accessibleAndFits(page);
  // The code that turned the app on is spent; the next step's is accepted (one step of drift).
  await page.getByLabel("Code", { exact: true }).fill(totp(secret, confirmedAt + 1));
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/profile$/);

  await profile.logOut();
  await new LoginPage(page).logIn(user.email, user.password);
  await expect(page).toHaveURL(/\/login\/code/);
  await page.getByLabel("Code", { exact: true }).fill(recovery[0]);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId("codes-left")).toHaveText("9");

  await profile.field("Password to turn it off").fill(user.password);
  await profile.field("A code from the app, or a recovery code").fill(recovery[1]);
  await page.getByRole("button", { name: "Turn off two-factor authentication" }).click();
  await expect(page.getByTestId("two-factor-status")).toContainText("Off");
  await profile.logOut();
  await new LoginPage(page).logIn(user.username, user.password);
  await expect(page).toHaveURL(/\/profile$/);
});
