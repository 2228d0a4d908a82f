/**
 * Wires Cloud Functions triggers to their handlers; nothing else lives here.
 */
import { initializeApp } from 'firebase-admin/app';

initializeApp();
