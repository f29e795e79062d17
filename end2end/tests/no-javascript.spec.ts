import { expect, test } from "@playwright/test";
import { LoginPage, ProfilePage, SignupPage, signedUpThenLoggedOut, uniqueUser } from "./fixtures/pages";
import { linkIn, mailTo } from "./fixtures/mail";

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
  await expect(page.getByRole("button", { name: "Use a passkey" })).toBeDisabled();
  await expect(page.getByText("Passkeys need JavaScript")).toBeVisible();

  const login = new LoginPage(page);
  await login.logIn(user.email, "wrong password!");
  await expect(login.alert).toHaveText("Invalid email/username or password.");
  await login.logIn(user.email, user.password);
  await expect(page).toHaveURL(/\/profile$/);
});

test("forgot password and reset work without JavaScript, errors included", async ({ page }) => {
  const user = uniqueUser("nojsreset");
  await signedUpThenLoggedOut(page, user);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email", { exact: true }).fill(user.email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByText("Check your inbox.")).toBeVisible();

  const mail = await mailTo(user.email, /Reset your/);
  const link = linkIn(mail, "/reset-password");
  await page.goto(link);
  await page.getByLabel("New password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Set new password" }).click();
  // The page sends no Referer, yet the error comes back to it.
  await expect(page.getByText("This password is too short")).toBeVisible();
  await page.getByLabel("New password", { exact: true }).fill("a new passphrase without scripts");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/login\?reason=reset$/);
  await new LoginPage(page).logIn(user.email, "a new passphrase without scripts");
  await expect(page).toHaveURL(/\/profile$/);
});
