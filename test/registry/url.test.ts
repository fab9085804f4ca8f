/** What the registry cuts from driver messages and descriptions: every password a URL can carry. */
import { redactSecrets, redactUrl, urlSecrets } from '../../lib/registry/url';

describe('registry URL secrets', () => {
  it('finds the userinfo password and a libpq password= parameter, decoded', () => {
    expect(urlSecrets('postgresql://line:p%40ss@db/factory')).toEqual(['p@ss']);
    expect(urlSecrets('postgresql://line@db/factory?password=q-secret&sslmode=require')).toEqual(['q-secret']);
    expect(urlSecrets('postgresql://line:a@db/factory?password=b')).toEqual(['a', 'b']);
    expect(urlSecrets('postgresql://line@db/factory')).toEqual([]);
    expect(urlSecrets('not a url')).toEqual([]);
  });

  it('a driver message that echoes either password keeps neither', () => {
    const url = 'postgresql://line:a-secret@db/factory?password=b-secret';
    const message = redactSecrets('connect failed for line (a-secret) with password b-secret', urlSecrets(url));
    expect(message).not.toMatch(/a-secret|b-secret/);
    expect(redactUrl(url)).not.toMatch(/a-secret|b-secret/);
  });
});
