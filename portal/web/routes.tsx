import type { Component } from 'solid-js';
import { StatusPage } from './status/status-page.tsx';
import { HomePage } from './home/home-page.tsx';

export interface RouteDef {
  path: string;
  exact?: boolean;
  component: Component;
}

/** Page paths → components; a feature folder adds its pages here. */
export const ROUTES: RouteDef[] = [
  { path: '/', exact: true, component: HomePage },
  { path: '/status', component: StatusPage },
];
