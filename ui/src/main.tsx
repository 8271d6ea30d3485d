import '@patternfly/patternfly/patternfly.css';
import '@patternfly/patternfly/patternfly-addons.css';
import './app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { takeTokenFromUrl } from './auth';
import { applyTheme, loadTheme } from './theme';

const linkToken = takeTokenFromUrl();
applyTheme(loadTheme());

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App linkToken={linkToken} />
  </StrictMode>,
);
