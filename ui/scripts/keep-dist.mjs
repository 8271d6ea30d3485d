// Vite empties dist/ on every build; ui/embed.go's `//go:embed all:dist`
// needs dist/.keep (the only tracked file there) to exist.
import { writeFileSync } from 'node:fs';
writeFileSync(new URL('../dist/.keep', import.meta.url), '');
