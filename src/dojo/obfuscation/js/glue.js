/*
 * Dojo obfuscation glue. Loaded into the embedded V8 after terser's browser bundle
 * (globalThis.Terser). Everything JavaScript-aware happens here, through terser's own parser,
 * scope analysis, mangler and code generator: no text rewriting of code.
 *
 * One document = several classic scripts sharing one global scope, plus inline event handlers
 * that call into it. Top-level names are renamed consistently across all of them: the names are
 * chosen here (seeded) before terser runs, and handed to every terser run as its name cache, so a
 * script may refer to a function a later script declares and a handler may call any of them.
 */
"use strict";

var dojoObfuscate, dojoIdentifiers;

(function () {
  var LEADING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ$_";
  var DIGITS = "0123456789";
  var HANDLER_WRAP = "__dojo_handler__";

  // Words a binding can't take, and short browser globals a top-level binding must not shadow.
  var AVOID = new Set(("break case catch class const continue debugger default delete do else enum export " +
    "extends false finally for function if import in instanceof let new null return static super switch this " +
    "throw true try typeof var void while with yield await implements interface package private protected " +
    "public arguments eval undefined NaN Infinity of as get set top URL CSS Map Set Date JSON Math Intl self " +
    "name event window document").split(" "));

  // Inline handlers resolve a free name on the element, its form and the document before the
  // global scope (`onclick="reset()"` in a form calls form.reset). A global with such a name keeps
  // it, so the handler finds exactly what it found before.
  var HANDLER_SHADOWED = new Set(("click focus blur remove reset submit clear open close write writeln " +
    "animate scroll scrollBy scrollTo scrollIntoView prepend append before after replaceWith replaceChildren " +
    "toggleAttribute setAttribute getAttribute hasAttribute removeAttribute closest matches contains " +
    "normalize cloneNode appendChild removeChild insertBefore replaceChild select setRangeText stepUp stepDown " +
    "checkValidity reportValidity requestSubmit play pause load fastSeek showModal show hide hidePopover " +
    "showPopover togglePopover title id name value type form style hidden lang dir checked disabled " +
    "elements length action method target step min max src href text data images links forms body head " +
    "location domain cookie").split(" "));

  function rng(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function shuffled(chars, next) {
    var a = chars.split("");
    for (var i = a.length - 1; i > 0; i--) {
      var j = Math.floor(next() * (i + 1));
      var t = a[i]; a[i] = a[j]; a[j] = t;
    }
    return a;
  }

  // terser's `nth_identifier` hook: the n-th short name over a seeded alphabet, so two seeds give
  // two different naming of the same program.
  function namer(seed) {
    var next = rng(seed);
    var lead = shuffled(LEADING, next);
    var rest = shuffled(LEADING + DIGITS, next);
    return {
      get: function (n) {
        var s = lead[n % lead.length];
        n = Math.floor(n / lead.length);
        while (n > 0) {
          n--;
          s += rest[n % rest.length];
          n = Math.floor(n / rest.length);
        }
        return s;
      }
    };
  }

  function parse(code, module) {
    var ast = Terser.minify_sync(code, {
      compress: false, mangle: false, module: module, format: { ast: true, code: false }
    }).ast;
    ast.figure_out_scope({ module: module });
    return ast;
  }

  function walk(ast, cb) {
    var stack = [];
    ast.walk({
      _visit: function (node, descend) {
        stack.push(node);
        var stop = cb(node, stack);
        if (!stop && descend) descend.call(node);
        stack.pop();
        return stop;
      },
      push: function () {}, pop: function () {},
      parent: function (n) { return stack[stack.length - 2 - (n || 0)]; }
    });
  }

  var GLOBAL_OBJECTS = new Set(["window", "self", "globalThis", "frames", "parent", "top"]);
  var CODE_IN_STRING = /\bon[a-z]+\s*=|javascript:|<script/i;
  var WORDS = /[A-Za-z_$][\w$]*/g;
  var TIMER_NAMES = new Set(["setTimeout", "setInterval"]);

  function addWords(node, into) {
    var parts = [];
    if (node.TYPE === "String") parts.push(node.value);
    else if (node.TYPE === "TemplateString") node.segments.forEach(function (seg) {
      if (seg.TYPE === "TemplateSegment") parts.push(seg.value);
    });
    parts.forEach(function (text) {
      var words = typeof text === "string" ? text.match(WORDS) : null;
      if (words) words.forEach(function (w) { into.add(w); });
    });
  }

  function calleeName(expr) {
    if (expr.TYPE === "SymbolRef") return expr.name;
    if (expr.TYPE === "Dot" && expr.expression.TYPE === "SymbolRef" && GLOBAL_OBJECTS.has(expr.expression.name)) {
      return expr.property;
    }
    return null;
  }

  // What a document's scripts need from the others: its top-level bindings, the free names it
  // uses, names reached as properties of the global object (window.foo, window["foo"]) or from
  // code inside strings (innerHTML markup with onclick="…", setTimeout("…")), and whether it can
  // see names dynamically (eval, with, new Function).
  function analyse(ast, info) {
    ast.globals.forEach(function (def, name) { info.free.add(name); });
    walk(ast, function (node) {
      var t = node.TYPE;
      if ((t === "Dot" || t === "Sub") && node.expression.TYPE === "SymbolRef" &&
          GLOBAL_OBJECTS.has(node.expression.name) && node.expression.definition().undeclared) {
        var p = node.property;
        if (typeof p === "string") info.viaGlobal.add(p);
        else if (p && p.TYPE === "String") info.viaGlobal.add(p.value);
        else info.dynamic = true;  // window[expr]: any global may be meant
      } else if (t === "String" || t === "TemplateSegment") {
        // Code inside strings (markup with inline handlers for innerHTML, code strings for
        // setTimeout) reaches globals by name at run time: those names must keep working.
        // Markup may be built from pieces ('<b onclick="' + name + '()">'): once any string holds
        // code, every word of every string counts.
        if (typeof node.value === "string") {
          (node.value.match(WORDS) || []).forEach(function (w) { info.stringWords.add(w); });
          if (CODE_IN_STRING.test(node.value)) info.codeInStrings = true;
        }
      } else if (t === "Call" && node.args.length && TIMER_NAMES.has(calleeName(node.expression))) {
        // setTimeout("tick()", 10): a string first argument is code run in the global scope.
        addWords(node.args[0], info.stringNames);
      } else if (t === "With") {
        info.dynamic = true;
      } else if (t === "SymbolRef" && (node.name === "eval" || node.name === "Function") &&
                 node.definition().undeclared) {
        info.dynamic = true;
      }
      return false;
    });
  }

  function wrapHandler(body) {
    return "function " + HANDLER_WRAP + "(){\n" + body + "\n}";
  }

  function unwrapHandler(code) {
    var head = "function " + HANDLER_WRAP + "(){";
    if (code.slice(0, head.length) !== head || code[code.length - 1] !== "}") {
      throw new Error("unexpected handler output");
    }
    return code.slice(head.length, -1);
  }

  // Everything about a document that does not depend on the seed: parsed trees, its top-level
  // names and which of them must keep their name.
  function prepare(input) {
    var errors = [];
    var info = {
      free: new Set(), viaGlobal: new Set(), stringNames: new Set(), stringWords: new Set(),
      codeInStrings: false, dynamic: false
    };
    var scripts = input.scripts.map(function (s, i) {
      try {
        var ast = parse(s.code, !!s.module);
        analyse(ast, info);
        return { ast: ast, module: !!s.module };
      } catch (e) {
        errors.push("script " + i + ": " + e.message);
        return null;
      }
    });
    var handlerFree = new Set();
    var handlers = input.handlers.map(function (code, i) {
      try {
        var ast = parse(wrapHandler(code), false);
        analyse(ast, info);
        ast.globals.forEach(function (def, name) { handlerFree.add(name); });
        return { ast: ast, module: false };
      } catch (e) {
        errors.push("handler " + i + ": " + e.message);
        return null;
      }
    });

    // Top-level bindings of the classic scripts, in order of appearance.
    var top = [];
    var seenNames = new Set();
    scripts.forEach(function (s) {
      if (!s || s.module) return;
      s.ast.variables.forEach(function (def, name) {
        if (!seenNames.has(name)) { seenNames.add(name); top.push(name); }
      });
    });
    var reserved = new Set(input.reserved || []);
    reserved.add(HANDLER_WRAP);
    reserved.add("event");
    var keep = new Set();
    if (info.codeInStrings) info.stringWords.forEach(function (w) { info.stringNames.add(w); });
    top.forEach(function (name) {
      if (reserved.has(name) || info.viaGlobal.has(name) || info.stringNames.has(name) || /^on[a-z]+$/.test(name) ||
          (handlerFree.has(name) && HANDLER_SHADOWED.has(name))) keep.add(name);
    });
    var taken = new Set(info.free);
    keep.forEach(function (n) { taken.add(n); });
    return {
      scripts: scripts, handlers: handlers, top: top, keep: keep, taken: taken, errors: errors,
      renameTop: !info.dynamic, reservedList: Array.from(reserved).concat(Array.from(keep))
    };
  }

  // A tree that can be mangled without touching the stored one.
  function pristine(piece) {
    if (!piece) return null;
    return { ast: piece.ast.clone(true), module: piece.module };
  }

  function working(piece) {
    if (!piece) return null;
    var ast = piece.ast.clone(true);
    ast.figure_out_scope({ module: piece.module });
    return { ast: ast, module: piece.module };
  }

  // The same document is obfuscated once per miner: its parsed trees are kept (once seen twice,
  // a few dozen documents per thread) and cloned for each new seed, which is cheaper than parsing.
  var PREPARED_MAX = 48, SEEN_MAX = 512;
  var prepared = new Map(), seenKeys = new Map();

  function remember(map, key, value, max) {
    map.delete(key);
    map.set(key, value);
    if (map.size > max) map.delete(map.keys().next().value);
  }

  /**
   * input: {scripts: [{code, module, compress}], handlers: [code], seed, reserved: [names], key}
   * (`key`: optional, identifies the document and reserved names, for reuse across seeds).
   * returns a JSON string {scripts: [code|null], handlers: [code|null], errors: [..], renamed: n}
   * (null = leave that piece as it was: it does not parse, so it never ran either).
   */
  dojoObfuscate = function (input) {
    var key = input.key || null;
    var prep = key ? prepared.get(key) : undefined;
    var scripts, handlers;
    if (prep) {
      remember(prepared, key, prep, PREPARED_MAX);
      scripts = prep.scripts.map(working);
      handlers = prep.handlers.map(working);
    } else {
      prep = prepare(input);
      scripts = prep.scripts;
      handlers = prep.handlers;
      if (key && seenKeys.has(key)) {
        remember(prepared, key, Object.assign({}, prep, {
          scripts: prep.scripts.map(pristine), handlers: prep.handlers.map(pristine)
        }), PREPARED_MAX);
      } else if (key) {
        remember(seenKeys, key, true, SEEN_MAX);
      }
    }
    var errors = prep.errors.slice();
    var renameTop = prep.renameTop, reservedList = prep.reservedList;

    // The seed's names: top-level names first (shared by every piece), then terser names the
    // rest through the same seeded alphabet.
    var nth = namer(input.seed);
    var props = {};
    var renamed = 0;
    if (renameTop) {
      var taken = new Set(prep.taken);
      var k = 0;
      prep.top.forEach(function (name) {
        if (prep.keep.has(name)) return;
        var m;
        do { m = nth.get(k++); } while (AVOID.has(m) || taken.has(m));
        taken.add(m);
        props["$" + name] = m;
        renamed++;
      });
    }
    var cacheEntries = Object.keys(props).map(function (k) { return [k.slice(1), props[k]]; });
    var sharedCache = new Map(cacheEntries);

    function run(ast, compress, module) {
      if (compress) {
        return Terser.minify_sync(ast, {
          module: module,
          compress: { toplevel: false, passes: 1, keep_fargs: true },
          mangle: { toplevel: renameTop, reserved: reservedList, nth_identifier: nth },
          nameCache: { vars: { props: Object.assign({}, props) } },
          format: { comments: false, inline_script: true }
        }).code;
      }
      // Without the compressor the scope analysis of the tree is still valid: mangle and print
      // directly instead of having minify() analyse the tree a second time.
      ast.mangle_names({
        toplevel: renameTop, reserved: reservedList, nth_identifier: nth, module: module,
        // A module's own top-level names would be added to the cache: give it a copy.
        cache: { props: module ? new Map(cacheEntries) : sharedCache }
      });
      return ast.print_to_string({ comments: false, inline_script: true });
    }

    var outScripts = scripts.map(function (s, i) {
      if (!s) return null;
      try {
        return run(s.ast, !!input.scripts[i].compress, s.module);
      } catch (e) {
        errors.push("script " + i + ": " + e.message);
        return null;
      }
    });
    var outHandlers = handlers.map(function (h, i) {
      if (!h) return null;
      try {
        return unwrapHandler(run(h.ast, false, false));
      } catch (e) {
        errors.push("handler " + i + ": " + e.message);
        return null;
      }
    });
    return JSON.stringify({ scripts: outScripts, handlers: outHandlers, errors: errors, renamed: renamed });
  };

  var DECL = new Set(["SymbolVar", "SymbolFunarg", "SymbolDefun", "SymbolLambda", "SymbolConst", "SymbolLet",
    "SymbolCatch", "SymbolClass", "SymbolDefClass", "SymbolImport"]);

  /**
   * The names a piece of code binds (variables, functions, parameters, classes, catch
   * parameters) and every name it references, by terser's parser. `handler` parses the code as an
   * inline event handler body. Returns a JSON string {declared: [...], referenced: [...]}.
   */
  dojoIdentifiers = function (code, module, handler) {
    var ast = parse(handler ? wrapHandler(code) : code, !!module);
    var declared = new Set(), referenced = new Set();
    walk(ast, function (node) {
      if (DECL.has(node.TYPE) && node.name !== HANDLER_WRAP) declared.add(node.name);
      else if (node.TYPE === "SymbolRef") referenced.add(node.name);
      return false;
    });
    return JSON.stringify({ declared: Array.from(declared), referenced: Array.from(referenced) });
  };
})();
