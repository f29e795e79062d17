import { expect, test } from "@playwright/test";
import { LoginPage, ProfilePage, SignupPage, hydrated, signedUpThenLoggedOut, uniqueUser } from "./fixtures/pages";

test("sign up, edit the profile, log out and log back in", async ({ page }) => {
  const user = uniqueUser("journey");
  const signup = new SignupPage(page);
  const profile = new ProfilePage(page);
  const login = new LoginPage(page);

  await signup.goto();
  await signup.signUp(user);
  await expect(page).toHaveURL(/\/profile$/);
  await expect(profile.heading).toBeVisible();
  await expect(profile.detail("email")).toHaveText(user.email);
  expect(await page.evaluate(() => document.cookie)).toBe("");

  await profile.edit({ "First name": "Ada", "Last name": "Lovelace" });
  await expect(page.getByText("Profile saved.")).toBeVisible();
  await page.reload();
  await expect(profile.field("First name")).toHaveValue("Ada");
  await expect(profile.field("Last name")).toHaveValue("Lovelace");

  await profile.logOut();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/login\?next=%2Fprofile$/);

  await login.logIn(user.username, user.password);
  await expect(page).toHaveURL(/\/profile$/);
  await expect(profile.detail("username")).toHaveText(user.username);
});

test("a wrong password gets one message that does not say whether the account exists", async ({ page }) => {
  const user = uniqueUser("wrongpw");
  await signedUpThenLoggedOut(page, user);

  const login = new LoginPage(page);
  await login.logIn(user.username, "not the password");
  await expect(login.alert).toHaveText("Invalid email/username or password.");
  await login.logIn("nobody-by-that-name", "not the password");
  await expect(login.alert).toHaveText("Invalid email/username or password.");
  await expect(page).toHaveURL(/\/login$/);
});

test("sign-up errors appear next to their fields and keep what was typed but the password", async ({ page }) => {
  const signup = new SignupPage(page);
  await signup.goto();
  await hydrated(page);
  await signup.signUp({ username: "bad name", email: "not-an-email", password: "12345678" });
  await expect(page.getByText("Enter a valid email address")).toBeVisible();
  await expect(signup.field("Email")).toHaveAttribute("aria-invalid", "true");
  await expect(signup.field("Email")).toHaveValue("not-an-email");
  await expect(signup.field("Username")).toHaveValue("bad name");
  await expect(page.getByText("This password is entirely numeric.")).toBeVisible();
  await expect(signup.field("Password")).toHaveValue("");
});

test("after log-out, Back does not show the profile again, however slow the network", async ({ page }) => {
  const user = uniqueUser("back");
  const signup = new SignupPage(page);
  await signup.goto();
  await signup.signUp(user);
  await expect(page).toHaveURL(/\/profile$/);
  await hydrated(page);
  // The session check that follows the log-out is held until after Back, as on a slow network.
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let holding = true;
  await page.route("**/fn/me", async (route) => {
    if (holding) {
      holding = false;
      await held;
    }
    await route.continue();
  });
  const checkAfterLogOut = page.waitForRequest("**/fn/me");
  await new ProfilePage(page).logOut();
  await expect(page).toHaveURL(/\/login$/);
  await checkAfterLogOut;
  await page.goBack();
  release();
  await expect(page).toHaveURL(/\/login\?next=%2Fprofile/);
  await expect(page.getByText(user.email)).toHaveCount(0);
});
