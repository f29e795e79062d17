import { expect, test } from "@playwright/test";
import { LoginPage, ProfilePage, SignupPage, accessibleAndFits, hydrated, uniqueUser } from "./fixtures/pages";
import { linkIn, mailTo } from "./fixtures/mail";

// As a phone shows them: the pages behind live links get the axe-core and 375 px check here.
test.use({ viewport: { width: 375, height: 740 } });

test("sign up, then confirm the address from the mail", async ({ page }) => {
  const user = uniqueUser("verify");
  const signup = new SignupPage(page);
  await signup.goto();
  await signup.signUp(user);
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId("email-status")).toHaveText("not verified");

  const mail = await mailTo(user.email, /Confirm your email address/);
  await page.goto(linkIn(mail, "/verify-email"));
  await expect(page.getByText(`Confirm that ${user.email} is your address?`)).toBeVisible();
  await accessibleAndFits(page);
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page.getByText("Your email address is confirmed.")).toBeVisible();
  await page.getByRole("link", { name: "Go to your profile" }).click();
  await expect(page.getByTestId("email-status")).toHaveText("verified");
});

test("forgot the password: reset it from the mail, and the old session is signed out", async ({ page, browser }) => {
  const user = uniqueUser("reset");
  const signup = new SignupPage(page);
  await signup.goto();
  await signup.signUp(user);
  await expect(page).toHaveURL(/\/profile$/);

  const other = await browser.newContext();
  const phone = await other.newPage();
  await phone.goto("/login");
  await phone.getByRole("link", { name: "Forgot your password?" }).click();
  await phone.getByLabel("Email", { exact: true }).fill(user.email);
  await phone.getByRole("button", { name: "Send the link" }).click();
  await expect(phone.getByText("Check your inbox.")).toBeVisible();

  const mail = await mailTo(user.email, /Reset your/);
  await phone.goto(linkIn(mail, "/reset-password"));
  await accessibleAndFits(phone);
  await phone.getByLabel("New password", { exact: true }).fill("a completely new passphrase");
  await phone.getByRole("button", { name: "Set new password" }).click();
  await expect(phone).toHaveURL(/\/login\?reason=reset$/);
  await expect(phone.getByText("Your password was changed")).toBeVisible();
  await new LoginPage(phone).logIn(user.email, "a completely new passphrase");
  await expect(phone).toHaveURL(/\/profile$/);
  await other.close();

  await page.reload();
  await expect(page).toHaveURL(/\/login\?next=%2Fprofile/);
});

test("change the address: it changes once the link sent to the new one is used", async ({ page }) => {
  const user = uniqueUser("move");
  const newEmail = `new-${user.email}`;
  const signup = new SignupPage(page);
  await signup.goto();
  await signup.signUp(user);
  const profile = new ProfilePage(page);
  await expect(profile.heading).toBeVisible();
  await hydrated(page);

  await profile.field("New email address").fill(newEmail);
  await profile.field("Your password").fill(user.password);
  await page.getByRole("button", { name: "Send a confirmation link" }).click();
  await expect(page.getByText("We sent a link to your new address.")).toBeVisible();
  await expect(profile.detail("email")).toHaveText(user.email);
  await mailTo(user.email, /being changed/);

  const mail = await mailTo(newEmail, /Confirm your new email address/);
  await page.goto(linkIn(mail, "/verify-email"));
  await page.getByRole("button", { name: "Use this address" }).click();
  await expect(page.getByText("Your account now uses its new address.")).toBeVisible();
  await page.goto("/profile");
  await expect(profile.detail("email")).toHaveText(newEmail);
  await expect(page.getByTestId("email-status")).toHaveText("verified");
});
