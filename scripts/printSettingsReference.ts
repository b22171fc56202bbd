import { settingsReferenceMarkdown } from '../src/config/settingsReference.js';

process.stdout.write(`${settingsReferenceMarkdown()}\n`);
