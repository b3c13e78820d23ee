/**
 * Registers the path, redirect, header, authentication and allow-list middlewares. The lead
 * imports this module from src/middlewares/index.ts.
 */
import { registerMiddleware } from './registry.js';
import { stripPrefix } from './stripPrefix/index.js';
import { stripPrefixRegex } from './stripPrefixRegex/index.js';
import { addPrefix } from './addPrefix/index.js';
import { replacePath } from './replacePath/index.js';
import { replacePathRegex } from './replacePathRegex/index.js';
import { redirectScheme } from './redirectScheme/index.js';
import { redirectRegex } from './redirectRegex/index.js';
import { headers } from './headers/index.js';
import { basicAuth } from './basicAuth/index.js';
import { digestAuth } from './digestAuth/index.js';
import { ipAllowList, ipWhiteList } from './ipAllowList/index.js';
import { encodedCharacters } from './encodedCharacters/index.js';

registerMiddleware(stripPrefix);
registerMiddleware(stripPrefixRegex);
registerMiddleware(addPrefix);
registerMiddleware(replacePath);
registerMiddleware(replacePathRegex);
registerMiddleware(redirectScheme);
registerMiddleware(redirectRegex);
registerMiddleware(headers);
registerMiddleware(basicAuth);
registerMiddleware(digestAuth);
registerMiddleware(ipAllowList);
registerMiddleware(ipWhiteList);
registerMiddleware(encodedCharacters);
