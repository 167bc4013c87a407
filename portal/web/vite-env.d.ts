declare module '*?raw' {
  const text: string;
  export default text;
}
declare module '*.css';

interface ImportMeta {
  /**
   * Vite's glob import, in the one form the app uses: every matching file, its built address.
   * @example import.meta.glob('./img/*.png', { eager: true, query: '?url', import: 'default' })
   */
  glob(pattern: string, options: { eager: true; query: '?url'; import: 'default' }): Record<string, string>;
}
