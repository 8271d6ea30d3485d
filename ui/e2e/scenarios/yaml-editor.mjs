// The create form's YAML view (issue 14): a CodeMirror editor loaded only
// when it is opened, with YAML highlighting, schema completion and help,
// the server's dry-run errors at their line, keyboard escape, and the
// dashboard's themes. Runs inside the main scenario, on its create form.
import { expect } from '../suite.mjs';

const editorLoaded = (page) => page.evaluate(() => performance.getEntriesByType('resource').some((e) => /\/YamlEditor-[\w-]+\.js$/.test(e.name)));

export async function yamlEditorSteps({ step, axe, page, nameField }) {
  const editor = page.getByTestId('yaml-editor');
  const content = editor.locator('.cm-content');
  const text = () => page.evaluate(() => [...document.querySelectorAll('[data-testid="yaml-editor"] .cm-line')].map((l) => l.textContent).join('\n'));
  const line = (t) => editor.locator('.cm-line', { hasText: t });
  const focusInEditor = () => page.evaluate(() => !!document.activeElement?.closest('.cm-editor'));

  await step('YAML view: a code editor, loaded only when opened, with the job highlighted', async () => {
    expect(!(await editorLoaded(page)), 'the editor was loaded before the YAML view was opened');
    await page.getByRole('button', { name: 'YAML' }).click();
    await content.waitFor();
    expect(await editorLoaded(page), 'the editor chunk was not loaded');
    const yaml = await text();
    expect(yaml.includes('name: e2e-hello') && yaml.includes('suite: e2e') && yaml.includes('replicas: 2'), `YAML:\n${yaml}`);
    const colors = await line('replicas: 2').evaluate((l) => ({
      line: getComputedStyle(l).color,
      key: getComputedStyle(l.querySelector('span')).color,
    }));
    expect(colors.key !== colors.line, `keys are not highlighted: ${JSON.stringify(colors)}`);
    expect((await content.getAttribute('aria-labelledby')) === 'job-yaml-label', 'the editor has no accessible name');
    await axe('create-yaml');
  });

  await step("YAML view: the server's dry-run error at its line", async () => {
    await line('replicas: 2').click();
    await page.keyboard.press('End');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('0');
    const problems = page.getByTestId('yaml-problems');
    await problems.filter({ hasText: /Line \d+: spec\.workers\.replicas: / }).waitFor();
    const n = Number(/Line (\d+): spec\.workers\.replicas/.exec(await problems.textContent())[1]);
    const lines = (await text()).split('\n');
    expect(lines[n - 1]?.trim() === 'replicas: 0', `line ${n} is "${lines[n - 1]}"`);
    await line('replicas: 0').locator('.cm-lintRange-error').first().waitFor();
    await axe('create-yaml-error');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('2');
    await problems.waitFor({ state: 'detached' });
  });

  await step('YAML view: completion and help from the API schema', async () => {
    await line('replicas: 2').click();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('resou');
    const popup = page.locator('.cm-tooltip-autocomplete');
    await popup.getByText('resources', { exact: true }).waitFor();
    // CodeMirror ignores Enter for 75 ms after the list opens (interactionDelay),
    // so a key pressed at once by reflex types a newline; a person reads first.
    await page.waitForTimeout(200);
    await page.keyboard.press('Enter');
    await page.keyboard.type('memory: 2Gi');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="yaml-editor"] .cm-line')].some((l) => l.textContent === '      memory: 2Gi'));
    expect(/\n {4}resources:\n {6}memory: 2Gi/.test(await text()), `completion did not nest the field:\n${await text()}`);
    await line('replicas: 2').locator('span', { hasText: 'replicas' }).hover();
    await page.locator('.odh-yaml-help').filter({ hasText: 'spec.workers.replicas (integer)' }).waitFor();
    await page.mouse.move(0, 0);
  });

  await step('YAML view: Tab indents; Escape then Tab leaves the editor', async () => {
    await line('replicas: 2').click();
    await page.keyboard.press('Home');
    await page.keyboard.press('Tab');
    expect(await focusInEditor(), 'Tab left the editor instead of indenting');
    await page.keyboard.press('Control+z');
    expect((await text()).includes('\n    replicas: 2'), 'undo did not restore the indentation');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(!(await focusInEditor()), 'Escape then Tab did not move focus out of the editor');
  });

  await step('YAML view: dark and high-contrast themes', async () => {
    const background = () => editor.locator('.cm-editor').evaluate((e) => getComputedStyle(e).backgroundColor);
    const light = await background();
    await page.getByText('Dark theme').click();
    await page.waitForFunction(
      (light) => getComputedStyle(document.querySelector('[data-testid="yaml-editor"] .cm-editor')).backgroundColor !== light,
      light,
    );
    await axe('create-yaml-dark');
    await page.getByText('High contrast').click();
    await axe('create-yaml-dark-high-contrast');
    await page.getByText('Dark theme').click();
    await page.getByText('High contrast').click();
  });

  await step('YAML view: back to the form keeps the edits', async () => {
    await page.getByRole('button', { name: 'Form' }).click();
    expect((await nameField().inputValue()) === 'e2e-hello', 'name lost after YAML round trip');
    expect((await page.getByLabel(/Memory per worker/).inputValue()) === '2Gi', 'the memory typed in YAML is not in the form');
  });
}
