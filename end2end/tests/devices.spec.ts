import { expect, test } from "@playwright/test";
import { LoginPage, ProfilePage, SignupPage, hydrated, uniqueUser } from "./fixtures/pages";

test("sign out another device from the sessions page, and that device is signed out", async ({ page, browser }) => {
  const user = uniqueUser("devices");
  const signup = new SignupPage(page);
  await signup.goto();
  await signup.signUp(user);
  await expect(page).toHaveURL(/\/profile$/);

  const other = await browser.newContext();
  const phone = await other.newPage();
  await phone.goto("/login");
  await new LoginPage(phone).logIn(user.username, user.password);
  await expect(new ProfilePage(phone).heading).toBeVisible();

  await page.goto("/sessions");
  await hydrated(page);
  const devices = page.getByTestId("device");
  await expect(devices).toHaveCount(2);
  await expect(devices.filter({ hasText: "this device" })).toHaveCount(1);
  await devices.filter({ hasNotText: "this device" }).getByRole("button", { name: /^Sign out/ }).click();
  await expect(devices).toHaveCount(1);
  await expect(devices.first()).toContainText("this device");

  await phone.reload();
  await expect(phone).toHaveURL(/\/login\?next=%2Fprofile/);
  await other.close();

  await page.goto("/activity");
  await expect(page.getByTestId("event").first()).toContainText("Signed out a session");
});
