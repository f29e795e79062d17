import { CDPSession, Page, expect, test } from "@playwright/test";
import { ProfilePage, SignupPage, accessibleAndFits, hydrated, sessionCookies, uniqueUser } from "./fixtures/pages";
import { baseURL } from "../playwright.config";

// Browsers refuse passkeys on an IP address: the pages are opened at localhost, the relying
// party latchkey derives for a loopback SITE_URL.
const site = baseURL.replace("127.0.0.1", "localhost");

test.use({ viewport: { width: 375, height: 740 } });

/** Chromium's virtual authenticator: a platform authenticator that verifies its user. */
async function authenticator(page: Page): Promise<{ cdp: CDPSession; id: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, id: authenticatorId };
}

test("a passkey: added on the profile, signing in from the username field's autofill and with the button", async ({ page }) => {
  const user = uniqueUser("passkey");
  const { cdp, id } = await authenticator(page);
  await page.goto(`${site}/signup`);
  await new SignupPage(page).signUp(user);
  await expect(page).toHaveURL(/\/profile$/);
  await hydrated(page);
  const profile = new ProfilePage(page);
  await profile.field("Name for the new passkey").fill("Test laptop");
  await profile.field("Password to add a passkey").fill(user.password);
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByText("Passkey “Test laptop” added.")).toBeVisible();
  await expect(page.getByTestId("passkey-list").getByRole("listitem")).toHaveCount(1);
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId: id });
  expect(credentials.map((c) => c.isResidentCredential)).toEqual([true]);
  await accessibleAndFits(page);

  // Autofill: the log-in page asks for a passkey in the username field's suggestions, and the
  // virtual authenticator answers as a person picking it would.
  const signedIn = page.waitForResponse((r) => r.url().endsWith("/fn/passkey_sign_in") && r.ok());
  await profile.logOut();
  await signedIn;
  await expect(page).toHaveURL(/\/profile$/);
  await expect(profile.detail("username")).toHaveText(user.username);
  expect((await sessionCookies(page.context())).amr).toEqual(["hwk"]);

  // The button: with the key out of the authenticator while the page loads, autofill finds
  // nothing to offer; put back, the button's prompt uses it.
  // (Taken now, with the signature counter the server has seen: an older copy is refused as a clone.)
  const [key] = (await cdp.send("WebAuthn.getCredentials", { authenticatorId: id })).credentials;
  await cdp.send("WebAuthn.removeCredential", { authenticatorId: id, credentialId: key.credentialId });
  await profile.logOut();
  await expect(page).toHaveURL(/\/login$/);
  await accessibleAndFits(page);
  await cdp.send("WebAuthn.addCredential", { authenticatorId: id, credential: key });
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(profile.detail("username")).toHaveText(user.username);
});
