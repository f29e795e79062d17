import { expect, test } from "@playwright/test";
import { LoginPage, ProfilePage, SignupPage, signedUpThenLoggedOut, uniqueUser } from "./fixtures/pages";

test.use({ javaScriptEnabled: false });

test("sign-up works without JavaScript, errors included", async ({ page }) => {
  const user = uniqueUser("nojs");
  const signup = new SignupPage(page);
  await signup.goto();
  await signup.signUp({ ...user, password: "short" });
  await expect(page).toHaveURL(/\/signup/);
  await expect(page.getByText("This password is too short")).toBeVisible();
  await expect(signup.field("Email")).toHaveValue(user.email);
  await expect(signup.field("Password")).toHaveValue("");

  await signup.signUp(user);
  await expect(page).toHaveURL(/\/profile$/);
  await expect(new ProfilePage(page).detail("email")).toHaveText(user.email);
});

test("log-out and log-in work without JavaScript", async ({ page }) => {
  const user = uniqueUser("nojslogin");
  await signedUpThenLoggedOut(page, user);

  const login = new LoginPage(page);
  await login.logIn(user.email, "wrong password!");
  await expect(login.alert).toHaveText("Invalid email/username or password.");
  await login.logIn(user.email, user.password);
  await expect(page).toHaveURL(/\/profile$/);
});
