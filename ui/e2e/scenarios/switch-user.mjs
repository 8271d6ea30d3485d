// A ?token= link opened in a tab that is signed in as someone else: the
// dashboard asks first (issue 11). Two users from a policy file on a real
// odh-server; the checks read who the server says is signed in.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../harness.mjs';
import { expect } from '../suite.mjs';

const ALICE = 'e2e-alice-token-0123456789abcdef';
const BOB = 'e2e-bob-token-0123456789abcdef01';

export async function switchUserScenario(s, browser) {
  s.begin('switch user from a ?token= link');
  const dir = mkdtempSync(join(tmpdir(), 'odh-ui-policy-'));
  const policy = join(dir, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      users: [
        { name: 'alice', token: ALICE },
        { name: 'bob', token: BOB },
      ],
      // The local engine cannot keep users apart, so a policy file there may
      // only give several people their own tokens with full access.
      bindings: [{ role: 'admin', namespaces: ['*'], users: ['alice', 'bob'] }],
    }),
  );
  const server = await startServer({ extraArgs: ['--auth=token', `--policy-file=${policy}`], tokenFile: false });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  s.page = page;
  page.setDefaultTimeout(15_000);
  const signedInAs = async (user) => page.getByTestId('signed-in-as').filter({ hasText: `Signed in as ${user}` }).waitFor();
  const storedToken = () => page.evaluate(() => sessionStorage.getItem('odh-training.token'));
  try {
    await s.step('the first link signs in without a question', async () => {
      await page.goto(`${server.url}/?token=${ALICE}`);
      await signedInAs('alice');
      expect(!page.url().includes('token='), `token still in URL: ${page.url()}`);
    });

    await s.step("another user's link asks first; staying keeps the session", async () => {
      await page.goto(`${server.url}/create?token=${BOB}`);
      await page.getByTestId('switch-current').filter({ hasText: 'You are signed in as alice.' }).waitFor();
      await page.getByTestId('switch-next').filter({ hasText: 'signs in as bob instead' }).waitFor();
      expect(!page.url().includes('token='), `token still in URL: ${page.url()}`);
      expect((await storedToken()) === ALICE, 'the session changed before the user chose');
      await s.axe('switch-user');
      // The safe choice has the focus: Enter stays.
      await page.keyboard.press('Enter');
      await signedInAs('alice');
      expect((await storedToken()) === ALICE, 'staying changed the session');
      await page.locator('h1').filter({ hasText: 'Create training job' }).waitFor();
    });

    await s.step('switching is an explicit choice', async () => {
      await page.goto(`${server.url}/?token=${BOB}`);
      await page.getByRole('button', { name: 'Switch to bob' }).click();
      await signedInAs('bob');
      expect((await storedToken()) === BOB, 'the session did not switch');
    });

    await s.step('a link with a token the server refuses keeps the session', async () => {
      await page.goto(`${server.url}/?token=forged-token`);
      await page.getByText("The link's token is not accepted by the server").waitFor();
      await s.axe('switch-user-refused');
      await page.getByRole('button', { name: 'Continue as bob' }).click();
      await signedInAs('bob');
      expect((await storedToken()) === BOB, 'a refused token replaced the session');
    });
  } finally {
    await context.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
