/** @module Entry of the command center UI: translations, styles, then the app. */
import { createRoot } from 'react-dom/client';
import { setupI18n } from './i18n/index.ts';
import { App } from './app.tsx';
import './styles.css';

setupI18n();
createRoot(document.getElementById('root')!).render(<App />);
